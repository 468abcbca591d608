/** Tool explorer: not written yet. */
export function ExplorerScreen() {
  return (
    <section aria-labelledby="screen-heading">
      <h1 id="screen-heading">Tool explorer</h1>
      <p className="muted">Coming soon.</p>
    </section>
  );
}
