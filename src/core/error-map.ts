/**
 * One mapping table from what networks and devices say to our error registry codes and
 * delivery states: SMPP command_status (submit answers), SMPP receipt `stat:`/`err:`,
 * TP-Status of SMS-STATUS-REPORT (3GPP TS 23.040 §9.2.3.15) and +CMS ERROR (3GPP TS 27.005
 * §3.2.5). Drivers call these instead of keeping tables of their own. Pure.
 */
import type { ReportState } from '../channels/port.js';
import type { ErrorCode } from './errors.js';

export interface SubmitFailure {
  code: ErrorCode;
  /** Retrying the same message cannot help (bad address, refused content). */
  permanent: boolean;
  /** The peer asks us to slow down; not a failure of the message. */
  throttle?: boolean;
}

export interface ReportOutcome {
  state: ReportState;
  code?: ErrorCode | undefined;
}

/** SMPP 3.4 command_status of a submit_sm_resp (or data_sm_resp) that is not ESME_ROK. */
export function fromSmppStatus(status: number): SubmitFailure {
  switch (status) {
    case 0x58: // ESME_RTHROTTLED
    case 0x14: // ESME_RMSGQFUL
      return { code: 'throttled', permanent: false, throttle: true };
    case 0x0b: // ESME_RINVDSTADR
    case 0x50: // ESME_RINVDSTTON
    case 0x51: // ESME_RINVDSTNPI
      return { code: 'invalid_number', permanent: true };
    case 0x01: // ESME_RINVMSGLEN
    case 0x0a: // ESME_RINVSRCADR
    case 0x48: // ESME_RINVSRCTON
    case 0x49: // ESME_RINVSRCNPI
    case 0x43: // ESME_RINVESMCLASS
    case 0x62: // ESME_RINVEXPIRY
    case 0xc1: // ESME_ROPTPARNOTALLWD
    case 0xc4: // ESME_RINVOPTPARAMVAL
      return { code: 'rejected_by_network', permanent: true };
    case 0x04: // ESME_RINVBNDSTS: our bind is not in a state to submit; a rebind fixes it
    case 0x08: // ESME_RSYSERR
    case 0x45: // ESME_RSUBMITFAIL
    case 0xfe: // ESME_RDELIVERYFAILURE
    case 0xff: // ESME_RUNKNOWNERR
      return { code: 'channel_error', permanent: false };
    default:
      return { code: 'channel_error', permanent: false };
  }
}

/**
 * GSM MAP error numbers, which most SMSCs put in a receipt's `err:` field (and in
 * network_error_code). Unknown values fall back to the `stat:` meaning.
 */
const MAP_ERRORS: Record<number, ErrorCode> = {
  1: 'unknown_subscriber', // unknownSubscriber
  5: 'unknown_subscriber', // unidentifiedSubscriber
  6: 'absent_subscriber', // absentSubscriberSM
  9: 'unknown_subscriber', // illegalSubscriber
  11: 'rejected_by_network', // teleserviceNotProvisioned
  12: 'rejected_by_network', // illegalEquipment
  13: 'rejected_by_network', // callBarred
  27: 'absent_subscriber', // absentSubscriber
  31: 'absent_subscriber', // subscriberBusyForMT-SMS
  32: 'network_error', // sm-DeliveryFailure
  33: 'absent_subscriber', // messageWaitingListFull
  34: 'network_error', // systemFailure
};

/** A receipt's `stat:` (DELIVRD, UNDELIV, …) and optional `err:` → our state and code. */
export function fromReceipt(stat: string, err?: string | number): ReportOutcome {
  const s = stat.trim().toUpperCase();
  const errNum = err === undefined || err === '' ? 0 : Number.parseInt(String(err), 10);
  const mapped = Number.isFinite(errNum) && errNum > 0 ? MAP_ERRORS[errNum] : undefined;
  switch (s) {
    case 'DELIVRD':
      return { state: 'delivered' };
    case 'EXPIRED':
      return { state: 'expired', code: mapped ?? 'expired' };
    case 'UNDELIV':
      return { state: 'undelivered', code: mapped ?? 'network_error' };
    case 'REJECTD':
      return { state: 'rejected', code: mapped ?? 'rejected_by_network' };
    case 'DELETED':
      return { state: 'undelivered', code: mapped ?? 'rejected_by_network' };
    case 'ACCEPTD':
      return { state: 'accepted' };
    case 'ENROUTE':
      return { state: 'enroute' };
    default:
      return { state: 'unknown', code: mapped };
  }
}

/** TP-Status of an SMS-STATUS-REPORT → our state and code. */
export function fromTpStatus(st: number): ReportOutcome {
  if (st <= 0x02) return { state: 'delivered' }; // received, forwarded unconfirmed, replaced
  if (st >= 0x20 && st <= 0x3f) return { state: 'enroute' }; // temporary, SC still trying
  if (st === 0x46) return { state: 'expired', code: 'expired' }; // validity period expired
  if (st >= 0x40 && st <= 0x5f) {
    const code: ErrorCode = st === 0x43 || st === 0x41 ? 'unknown_subscriber' : 'rejected_by_network';
    return { state: 'undelivered', code };
  }
  if (st >= 0x60 && st <= 0x7f) {
    // Temporary error but the SC gave up: the phone was busy, off or unreachable.
    const code: ErrorCode = st === 0x61 || st === 0x62 ? 'absent_subscriber' : 'network_error';
    return { state: 'undelivered', code };
  }
  return { state: 'unknown' };
}

/** +CMS ERROR: n from a modem's AT+CMGS → our code, and whether a retry can help. */
export function fromCmsError(n: number): SubmitFailure {
  switch (n) {
    case 1: // unassigned (unallocated) number
    case 30: // unknown subscriber
    case 28: // unidentified subscriber
      return { code: 'unknown_subscriber', permanent: true };
    case 8: // operator determined barring
    case 10: // call barred
    case 21: // short message transfer rejected
    case 29: // facility rejected
    case 50: // requested facility not subscribed
    case 69: // requested facility not implemented
      return { code: 'rejected_by_network', permanent: true };
    case 27: // destination out of service
      return { code: 'absent_subscriber', permanent: false };
    case 95: // invalid message, unspecified
    case 96: // invalid mandatory information
    case 304: // invalid PDU mode parameter
    case 305: // invalid text mode parameter
      return { code: 'rejected_by_network', permanent: true };
    case 38: // network out of order
    case 41: // temporary failure
    case 42: // congestion
    case 47: // resources unavailable
    case 331: // no network service
    case 332: // network timeout
      return { code: 'network_error', permanent: false };
    default:
      // ME/SIM failures (300–322), SMSC address unknown (330), unknown (500): the modem's
      // problem, not the message's; another SIM may well succeed.
      return { code: 'channel_error', permanent: false };
  }
}

/**
 * A recipient the gateway itself refused at acceptance (the sending policy, a bad number), as
 * the SMPP server face answers it: the submit_sm_resp status, or the error_status_code of an
 * unsuccess_sme in submit_multi_resp. SMPP 3.4 has no status for credit: ESME_RSUBMITFAIL.
 */
export function refusalToSmppStatus(code: string): number {
  switch (code) {
    case 'frequency_limited':
      return 0x58; // ESME_RTHROTTLED
    case 'insufficient_balance':
      return 0x45; // ESME_RSUBMITFAIL
    case 'blacklisted':
    case 'not_whitelisted':
    case 'opted_out':
    case 'no_price':
    case 'invalid_number':
    default:
      return 0x0b; // ESME_RINVDSTADR
  }
}
