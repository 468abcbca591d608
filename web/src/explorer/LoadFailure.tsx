import { Component, type ReactNode } from 'react';

interface State {
  failed: boolean;
}

/**
 * Catches a part of the screen that failed to load or draw (a tool's page is loaded on first use;
 * after the hub is updated, the file the open page asks for may be gone), so the rest of the page
 * stays usable and says how to recover.
 */
export class LoadFailure extends Component<{ children: ReactNode }, State> {
  override state: State = { failed: false };

  static getDerivedStateFromError(): State {
    return { failed: true };
  }

  override render() {
    if (!this.state.failed) return this.props.children;
    return (
      <div role="alert" className="alert">
        <p>This part of the page could not be loaded. The hub may have been updated since the page opened.</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload the page
        </button>
      </div>
    );
  }
}
