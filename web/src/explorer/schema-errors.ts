/**
 * The JSON Schema library's errors in rjsf's form: only the most specific ones, at the field they
 * concern, in words for people.
 */
import type { OutputUnit } from '@cfworker/json-schema';
import type { RJSFValidationError } from '@rjsf/utils';

/** Keywords whose errors only say that something deeper failed; the deeper error says what. */
const WRAPPERS: ReadonlySet<string> = new Set([
  'properties',
  'patternProperties',
  'items',
  'prefixItems',
  'additionalItems',
  'unevaluatedItems',
  'unevaluatedProperties',
  'allOf',
  '$ref',
  '$recursiveRef',
  'if',
  'dependentSchemas',
  'false',
]);

/** Keywords whose sub-schemas are alternatives: the errors of the alternatives are noise. */
const ALTERNATIVES: ReadonlySet<string> = new Set(['anyOf', 'oneOf', 'not']);

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'empty (null)',
};

function lastNumber(text: string): string {
  const numbers = text.match(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi);
  return numbers?.[numbers.length - 1] ?? '';
}

/** The library's message in words for people. */
function plainMessage(unit: OutputUnit): string {
  const text = unit.error;
  switch (unit.keyword) {
    case 'required':
      return 'This field is required.';
    case 'type': {
      const expected = /Expected "(.+)"\.$/.exec(text)?.[1]?.split('", "') ?? [];
      const words = expected.map((type) => TYPE_WORDS[type] ?? type);
      return words.length > 0 ? `Should be ${words.join(' or ')}.` : 'Has the wrong type.';
    }
    case 'minLength':
      return `Should be at least ${lastNumber(text)} characters long.`;
    case 'maxLength':
      return `Should be at most ${lastNumber(text)} characters long.`;
    case 'minimum':
    case 'exclusiveMinimum':
      return text.includes('or equal') || unit.keyword === 'exclusiveMinimum'
        ? `Should be more than ${lastNumber(text)}.`
        : `Should be at least ${lastNumber(text)}.`;
    case 'maximum':
    case 'exclusiveMaximum':
      return text.includes('or equal') || unit.keyword === 'exclusiveMaximum'
        ? `Should be less than ${lastNumber(text)}.`
        : `Should be at most ${lastNumber(text)}.`;
    case 'multipleOf':
      return `Should be a multiple of ${lastNumber(text)}.`;
    case 'pattern':
      return 'Does not have the expected form.';
    case 'format': {
      const format = /format "(.+)"/.exec(text)?.[1];
      return format === undefined ? 'Does not have the expected format.' : `Should be a valid ${format}.`;
    }
    case 'enum':
      return 'Should be one of the listed values.';
    case 'const':
      return `Should be ${text.replace(/^Instance does not match /, '').replace(/\.$/, '')}.`;
    case 'minItems':
      return `Should have at least ${lastNumber(text)} items.`;
    case 'maxItems':
      return `Should have at most ${lastNumber(text)} items.`;
    case 'uniqueItems':
      return 'The items should all be different.';
    case 'anyOf':
      return 'Does not match any of the allowed forms.';
    case 'oneOf':
      return 'Should match exactly one of the allowed forms.';
    case 'not':
      return 'This value is not allowed.';
    default:
      return text.replace(/^Instance/, 'The value');
  }
}

/** `#/a/0/b` (a JSON pointer as the library writes it) → `.a.0.b` (rjsf's property path). */
function propertyOf(instanceLocation: string): string {
  const pointer = instanceLocation.replace(/^#/, '');
  if (pointer === '') return '';
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // Not percent-encoded after all: keep it as written.
      }
      return `.${decoded.replace(/~1/g, '/').replace(/~0/g, '~')}`;
    })
    .join('');
}

/** The library's errors as rjsf's: the most specific ones only, each at its field. */
export function toRjsfErrors(units: readonly OutputUnit[]): RJSFValidationError[] {
  const alternatives = units
    .filter((unit) => ALTERNATIVES.has(unit.keyword))
    .map((unit) => `${unit.keywordLocation}/`);
  const seen = new Set<string>();
  const errors: RJSFValidationError[] = [];
  for (const unit of units) {
    if (WRAPPERS.has(unit.keyword)) continue;
    if (alternatives.some((prefix) => unit.keywordLocation.startsWith(prefix))) continue;
    let property = propertyOf(unit.instanceLocation);
    if (unit.keyword === 'required') {
      const missing = /required property "(.*)"\.$/.exec(unit.error)?.[1];
      if (missing !== undefined) property = `${property}.${missing}`;
    }
    const message = plainMessage(unit);
    const key = `${property}\n${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({
      name: unit.keyword,
      property: property === '' ? '.' : property,
      message,
      schemaPath: unit.keywordLocation,
      stack: property === '' ? message : `${property.slice(1)}: ${message}`,
    });
  }
  return errors;
}
