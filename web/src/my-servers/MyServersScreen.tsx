/** My servers: not written yet. */
export function MyServersScreen() {
  return (
    <section aria-labelledby="screen-heading">
      <h1 id="screen-heading">My servers</h1>
      <p className="muted">Coming soon.</p>
    </section>
  );
}
