/** The Tauri shell's dispatcher command, through `invoke` (see crates/till-service/API.md). */
import { invoke, isTauri } from '@tauri-apps/api/core';
import type { CommandName } from './generated/api';
import { toBackendError, type Backend, type Request, type Response } from './backend';

export class TauriBackend implements Backend {
  readonly transport = 'tauri' as const;

  async call<C extends CommandName>(command: C, request: Request<C>): Promise<Response<C>> {
    try {
      // The shell exposes one dispatcher command, `call`, that runs any API command.
      return await invoke<Response<C>>('call', { command, request });
    } catch (e) {
      throw toBackendError(e);
    }
  }
}

export { isTauri };
