// The Form module itself: the package's index also exports a test helper that imports rjsf's
// eval-based validator, which the page neither has nor may run.
import Form from '@rjsf/core/lib/components/Form.js';
import type { RJSFSchema, UiSchema } from '@rjsf/utils';
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { JsonSchema, ToolArguments } from './explorer-api.ts';
import { formTemplates } from './form-templates.tsx';
import { schemaValidator } from './schema-validator.ts';

/** Whether a tool's input schema asks for anything: none, or an object with no properties, does not. */
export function takesArguments(schema: JsonSchema | undefined): schema is JsonSchema {
  if (schema === undefined) return false;
  const properties = schema.properties;
  const hasProperties =
    typeof properties === 'object' && properties !== null && Object.keys(properties).length > 0;
  const openEnded = typeof schema.additionalProperties === 'object' || schema.additionalProperties === true;
  const composed = ['anyOf', 'oneOf', 'allOf', '$ref'].some((key) => key in schema);
  return hasProperties || openEnded || composed;
}

const UI_SCHEMA: UiSchema<ToolArguments, RJSFSchema> = {
  'ui:submitButtonOptions': { norender: true },
};

interface ToolFormProps {
  schema: JsonSchema | undefined;
  initial: ToolArguments | undefined;
  running: boolean;
  onCall: (args: ToolArguments) => void;
  onCancel: () => void;
}

/**
 * The arguments form generated from the tool's input schema, checked in the page before calling
 * (errors beside their fields), with Call, and Cancel while a call runs.
 */
export function ToolForm({ schema, initial, running, onCall, onCancel }: ToolFormProps) {
  const [formData, setFormData] = useState<ToolArguments>(initial ?? {});
  const callButton = useRef<HTMLButtonElement>(null);
  const cancelHadFocus = useRef(false);

  // Cancel disappears once the call ends: give its focus to Call rather than to the page.
  useEffect(() => {
    if (!running && cancelHadFocus.current) {
      cancelHadFocus.current = false;
      callButton.current?.focus();
    }
  }, [running]);

  const actions: ReactNode = (
    <div className="actions form-actions">
      {/* Not `disabled` while running: a disabled button loses the keyboard focus to the page. */}
      <button type="submit" ref={callButton} aria-disabled={running}>
        Call
      </button>
      {running && (
        <button
          type="button"
          className="secondary"
          onFocus={() => (cancelHadFocus.current = true)}
          onBlur={() => (cancelHadFocus.current = false)}
          onClick={onCancel}
        >
          Cancel
        </button>
      )}
    </div>
  );

  if (!takesArguments(schema)) {
    const submit = (event: FormEvent) => {
      event.preventDefault();
      if (!running) onCall({});
    };
    return (
      <form className="tool-form" onSubmit={submit}>
        <p className="muted">This tool takes no arguments.</p>
        {actions}
      </form>
    );
  }

  return (
    <Form<ToolArguments, RJSFSchema>
      className="tool-form"
      schema={schema}
      uiSchema={UI_SCHEMA}
      validator={schemaValidator}
      templates={formTemplates}
      formData={formData}
      onChange={(event) => setFormData(event.formData ?? {})}
      onSubmit={(event) => {
        if (!running) onCall(event.formData ?? {});
      }}
      // The errors show beside their fields; without a handler rjsf would log them to the console.
      onError={() => undefined}
      showErrorList={false}
      noHtml5Validate
      focusOnFirstError
    >
      {actions}
    </Form>
  );
}
