/**
 * rjsf templates for the Tool explorer's forms: buttons that say what they do in words (rjsf's
 * own draw Bootstrap icon fonts the page does not have), and array items laid out for narrow screens.
 */
import {
  getTemplate,
  getUiOptions,
  TranslatableString,
  type ArrayFieldItemTemplateProps,
  type IconButtonProps,
  type RJSFSchema,
  type TemplatesType,
} from '@rjsf/utils';
import type { ToolArguments } from './explorer-api.ts';

type ButtonProps = IconButtonProps<ToolArguments, RJSFSchema>;

/** A button with a visible word instead of an icon; rjsf's own styling props are left out. */
function WordButton({ label, props }: { label: string; props: ButtonProps }) {
  const { id, className, onClick, disabled } = props;
  return (
    <button
      type="button"
      id={id}
      className={`secondary small ${className ?? ''}`}
      onClick={onClick}
      disabled={disabled}
    >
      {label}
    </button>
  );
}

function word(props: ButtonProps, which: TranslatableString): string {
  return props.registry.translateString(which);
}

function AddButton(props: ButtonProps) {
  // The same button adds a list item and a property of an open-ended object.
  const forObject = props.className?.includes('object-property') === true;
  const label = forObject ? 'Add property' : 'Add item';
  return <WordButton label={label} props={props} />;
}

function CopyButton(props: ButtonProps) {
  return <WordButton label={word(props, TranslatableString.CopyButton)} props={props} />;
}

function MoveUpButton(props: ButtonProps) {
  return <WordButton label={word(props, TranslatableString.MoveUpButton)} props={props} />;
}

function MoveDownButton(props: ButtonProps) {
  return <WordButton label={word(props, TranslatableString.MoveDownButton)} props={props} />;
}

function RemoveButton(props: ButtonProps) {
  return <WordButton label={word(props, TranslatableString.RemoveButton)} props={props} />;
}

function ClearButton(props: ButtonProps) {
  return <WordButton label="Clear" props={props} />;
}

/** The form's own submit button is never drawn: the explorer draws Call and Cancel itself. */
function NoSubmitButton() {
  return null;
}

/** One item of a list: its field, then its buttons in a group named after its position. */
function ArrayFieldItemTemplate(props: ArrayFieldItemTemplateProps<ToolArguments, RJSFSchema>) {
  const { children, className, buttonsProps, hasToolbar, index, registry, uiSchema } = props;
  const Buttons = getTemplate('ArrayFieldItemButtonsTemplate', registry, getUiOptions(uiSchema));
  return (
    <div className={`array-item ${className}`}>
      <div className="array-item-body">{children}</div>
      {hasToolbar && (
        <div className="array-item-toolbox" role="group" aria-label={`Item ${index + 1}`}>
          <Buttons {...buttonsProps} />
        </div>
      )}
    </div>
  );
}

/** The templates the explorer's forms use in place of rjsf's defaults. */
export const formTemplates: Partial<TemplatesType<ToolArguments, RJSFSchema>> = {
  ArrayFieldItemTemplate,
  ButtonTemplates: {
    AddButton,
    CopyButton,
    MoveUpButton,
    MoveDownButton,
    RemoveButton,
    ClearButton,
    SubmitButton: NoSubmitButton,
  },
};
