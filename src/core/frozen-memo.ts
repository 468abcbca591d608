/**
 * Values derived from a frozen object (an admin server's config lives, frozen, as long as the
 * process) and a short key, computed once per object. An object that is not frozen could change
 * under a remembered value, so its value is computed every time.
 */
export class FrozenMemo<V> {
  private readonly values = new WeakMap<object, { key: string; value: V }>();

  get(owner: object, key: string, compute: () => V): V {
    if (!Object.isFrozen(owner)) return compute();
    const known = this.values.get(owner);
    if (known !== undefined && known.key === key) return known.value;
    const value = compute();
    this.values.set(owner, { key, value });
    return value;
  }
}
