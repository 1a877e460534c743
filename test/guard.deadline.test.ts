import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deadlineQueue } from '../src/store/guard.js';

describe('the store guard\'s deadlines (one timer for all calls)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());
  const clock = () => Date.now();

  it('passes each deadline not cancelled, once, when its time comes, in the order armed', () => {
    const deadline = deadlineQueue(100, clock);
    const passed: string[] = [];
    deadline(100, () => passed.push('a'));
    const cancelB = deadline(100, () => passed.push('b'));
    vi.advanceTimersByTime(40);
    deadline(100, () => passed.push('c'));
    cancelB();
    vi.advanceTimersByTime(59);
    expect(passed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(passed).toEqual(['a']);
    vi.advanceTimersByTime(40);
    expect(passed).toEqual(['a', 'c']);
    vi.advanceTimersByTime(1000);
    expect(passed).toEqual(['a', 'c']);
  });

  it('runs no timer once every deadline is cancelled, and one for any number of live ones', () => {
    const deadline = deadlineQueue(100, clock);
    const cancels = Array.from({ length: 1000 }, () => deadline(100, () => undefined));
    expect(vi.getTimerCount()).toBe(1);
    for (const c of cancels) c();
    expect(vi.getTimerCount()).toBe(0);
    const passed: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const cancel = deadline(100, () => passed.push(i));
      if (i % 1000 !== 999) cancel();
      vi.advanceTimersByTime(i % 10 === 0 ? 1 : 0);
    }
    vi.advanceTimersByTime(100);
    expect(passed).toEqual([999, 1999, 2999]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives a deadline of another length a timer of its own', () => {
    const deadline = deadlineQueue(100, clock);
    const passed: string[] = [];
    deadline(100, () => passed.push('100'));
    deadline(10, () => passed.push('10'));
    vi.advanceTimersByTime(10);
    expect(passed).toEqual(['10']);
    vi.advanceTimersByTime(90);
    expect(passed).toEqual(['10', '100']);
  });
});
