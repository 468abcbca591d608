/** Admin: not written yet. */
export function AdminScreen() {
  return (
    <section aria-labelledby="screen-heading">
      <h1 id="screen-heading">Admin</h1>
      <p className="muted">Coming soon.</p>
    </section>
  );
}
