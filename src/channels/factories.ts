/**
 * The channel types and their drivers: one table for the gateway (which registers them) and
 * for every place that checks a channel config before storing it (the API and the CLI), so a
 * config the gateway could not start is refused where it is written.
 */
import { createGammuDriver } from './gammu/driver.js';
import { createModemDriver } from './modem/driver.js';
import type { ChannelFactory } from './port.js';
import { resolveSecrets } from './secrets.js';
import { createSimulatorDriver } from './simulator/driver.js';
import { createSmppClientDriver } from './smpp/driver.js';

export const CHANNEL_FACTORIES: Readonly<Record<string, ChannelFactory>> = {
  simulator: (cfg, ctx) => createSimulatorDriver(cfg, ctx),
  gammu: (cfg) => createGammuDriver(cfg),
  smpp: (cfg) => createSmppClientDriver(cfg),
  modem: (cfg) => createModemDriver(cfg),
};

export const CHANNEL_TYPES = Object.keys(CHANNEL_FACTORIES);

/** Throws an Error with the driver's reason when the type is unknown or the config is not usable. */
export function validateChannelConfig(type: string, config: Record<string, unknown>, name: string): void {
  const factory = CHANNEL_FACTORIES[type];
  if (!factory) throw new Error(`unknown channel type "${type}"; known: ${CHANNEL_TYPES.join(', ')}`);
  factory(resolveSecrets(config) as Record<string, unknown>, { name });
}
