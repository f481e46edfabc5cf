/**
 * Opening and releasing a modem's port: a serial device, or tcp://host:port for a simulator.
 *
 * Releasing a serial port needs `SerialPort.close()`: `destroy()` (the Duplex way) emits
 * 'close' but leaves the file descriptor open and its lock held (@serialport/stream 13 has no
 * `_destroy`), so a disabled channel kept its SIM from Gammu and from itself until the
 * gateway restarted.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

export interface OpenPort {
  io: Duplex;
  /** Releases the port (fd and lock, or socket); resolves once it is closed. Idempotent. */
  close(): Promise<void>;
}

/** A close that hangs (a wedged USB device) must not hold a channel's stop for ever. */
const CLOSE_TIMEOUT_MS = 2000;

export async function openPort(path: string, baudRate: number): Promise<OpenPort> {
  const tcp = /^tcp:\/\/([\w.-]+):(\d+)$/.exec(path);
  if (tcp) {
    const socket = connect(Number(tcp[2]), tcp[1] as string);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('close', () => reject(new Error(`${path}: connection refused or closed`)));
    });
    return { io: socket, close: once(() => closing(socket, () => socket.destroy())) };
  }
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  port.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return {
    io: port,
    close: once(() =>
      closing(port, () => {
        if (port.isOpen) port.close(() => port.destroy());
        else port.destroy();
      }),
    ),
  };
}

function closing(io: Duplex, release: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    if (io.closed) return resolve();
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    io.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    release();
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}
