import { describe, expect, it } from 'vitest';
import { ActiveRequests } from '../../src/proxy/active-requests.js';

function values<T>(list: ActiveRequests<T>): T[] {
  const seen: T[] = [];
  list.some((value) => {
    seen.push(value);
    return false;
  });
  return seen.sort();
}

describe('ActiveRequests', () => {
  it('counts and finds what was added and not removed, from the head, the middle and the tail', () => {
    const list = new ActiveRequests<string>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((value) => list.add(value));
    expect(list.size).toBe(4);
    list.remove(b!); // middle
    expect(values(list)).toEqual(['a', 'c', 'd']);
    list.remove(d!); // head (added last)
    expect(values(list)).toEqual(['a', 'c']);
    list.remove(a!); // tail
    expect(values(list)).toEqual(['c']);
    expect(list.size).toBe(1);
    expect(list.some((value) => value === 'c')).toBe(true);
    expect(list.some((value) => value === 'a')).toBe(false);
    list.remove(c!);
    expect(list.size).toBe(0);
    expect(values(list)).toEqual([]);
  });

  it('takes a second removal of the same entry as a no-op, whether it was the head or not', () => {
    const list = new ActiveRequests<number>();
    const first = list.add(1);
    const second = list.add(2);
    list.remove(second);
    list.remove(second);
    list.remove(first);
    list.remove(first);
    expect(list.size).toBe(0);
    const third = list.add(3);
    list.remove(first);
    expect(list.size).toBe(1);
    expect(values(list)).toEqual([3]);
    list.remove(third);
    expect(list.size).toBe(0);
  });

  it('leaves a removed entry pointing at nothing, so a dead entry keeps no live request alive', () => {
    const list = new ActiveRequests<string>();
    list.add('older');
    const middle = list.add('middle');
    list.add('newer');
    list.remove(middle);
    expect(middle.prev).toBeUndefined();
    expect(middle.next).toBeUndefined();
  });
});
