/** The Tauri shell's commands, through `invoke`. */
import { invoke, isTauri } from '@tauri-apps/api/core';
import type { CommandName } from './generated/api';
import { toBackendError, type Backend, type Request, type Response } from './backend';

export class TauriBackend implements Backend {
  readonly transport = 'tauri' as const;

  async call<C extends CommandName>(command: C, request: Request<C>): Promise<Response<C>> {
    try {
      return await invoke<Response<C>>(command, { request });
    } catch (e) {
      throw toBackendError(e);
    }
  }
}

export { isTauri };
