/**
 * The base of the Heap panel's views that show one notebook's heap session: follows the session's
 * model and lets go of it on dispose.
 */
import { Panel } from '@lumino/widgets';

import type { HeapModel } from '../model/model';
import type { IHeapSession } from '../tracker/tokens';

/**
 * A view of one heap session's model.
 */
export abstract class SessionView extends Panel {
  /**
   * The session whose model is shown, or null.
   */
  get session(): IHeapSession | null {
    return this._session;
  }
  set session(session: IHeapSession | null) {
    if (session === this._session) {
      return;
    }
    this._session?.model.changed.disconnect(this.onModelChanged, this);
    this._session = session;
    session?.model.changed.connect(this.onModelChanged, this);
    this.onSessionChanged();
  }

  /**
   * Dispose of the view (idempotent).
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.session = null;
    super.dispose();
  }

  /**
   * Called after the session changed (also to null).
   */
  protected abstract onSessionChanged(): void;

  /**
   * Called when the session's model changed.
   */
  protected abstract onModelChanged(model: HeapModel, args: HeapModel.IChangedArgs): void;

  private _session: IHeapSession | null = null;
}
