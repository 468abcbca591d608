/**
 * The names one session's client was last shown (by `tools/list` or `prompts/list`) and what each
 * stands for. A call is routed by this map, so a name reaches the server it stood for when the client
 * saw it, or nothing: a catalog that changed since (a server added, a colliding name renamed) never
 * redirects it elsewhere. A name the client was never shown is looked up in the current catalog and
 * remembered; the names already shown keep their meaning until the client lists again.
 */
export class ShownNames<B> {
  private shown = new Map<string, B>();

  /** The client was just shown exactly these. */
  replace(entries: Iterable<readonly [string, B]>): void {
    this.shown = new Map(entries);
  }

  /** What `name` stands for; `current` gives the catalog as it is now, asked only for a name never shown. */
  async resolve(
    name: string,
    current: () => Promise<Iterable<readonly [string, B]>>,
  ): Promise<B | undefined> {
    const known = this.shown.get(name);
    if (known !== undefined) return known;
    for (const [exposed, binding] of await current()) {
      if (exposed !== name) continue;
      this.shown.set(name, binding);
      return binding;
    }
    return undefined;
  }
}
