import { describe, expect, it } from 'vitest';
import { LineSplitter, LineTooLongError } from './line-splitter.js';

const text = (lines: Buffer[]): string[] => lines.map((line) => line.toString('utf8'));

describe('LineSplitter', () => {
  it('splits on newlines across chunk boundaries', () => {
    const splitter = new LineSplitter(100, 'throw');
    expect(text(splitter.push(Buffer.from('ab\ncd')))).toEqual(['ab']);
    expect(text(splitter.push(Buffer.from('ef\n\ngh\n')))).toEqual(['cdef', '', 'gh']);
    expect(splitter.end()).toBeUndefined();
  });

  it('throw mode: a line over the bound throws, even when it arrives in small chunks', () => {
    const splitter = new LineSplitter(8, 'throw');
    expect(text(splitter.push(Buffer.from('12345678\n')))).toEqual(['12345678']);
    splitter.push(Buffer.from('12345'));
    expect(() => splitter.push(Buffer.from('6789'))).toThrow(LineTooLongError);
  });

  it('truncate mode: keeps the head of a long line and drops the rest up to its newline', () => {
    const splitter = new LineSplitter(4, 'truncate');
    expect(text(splitter.push(Buffer.from('abcdefg')))).toEqual(['abcd']);
    expect(text(splitter.push(Buffer.from('hij\nxy\n')))).toEqual(['xy']);
    expect(text(splitter.push(Buffer.from('tail')))).toEqual([]);
    expect(splitter.end()?.toString()).toBe('tail');
  });
});
