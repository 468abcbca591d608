/** Connected apps: not written yet. */
export function AppsScreen() {
  return (
    <section aria-labelledby="screen-heading">
      <h1 id="screen-heading">Connected apps</h1>
      <p className="muted">Coming soon.</p>
    </section>
  );
}
