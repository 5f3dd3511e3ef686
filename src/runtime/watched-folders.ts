import { dirname } from 'node:path';
import type { ResolvedConfig } from '../config/load.js';

/**
 * Where a change means a reload: the guards folder, the config file's folder
 * and the folder of every guard the config file names elsewhere.
 */
export function watchedFolders(config: ResolvedConfig): string[] {
  const folders = new Set<string>();
  if (config.guardsDir) folders.add(config.guardsDir);
  if (config.configFile) folders.add(dirname(config.configFile));
  for (const guard of config.guards) folders.add(dirname(guard.path));
  return [...folders].sort();
}
