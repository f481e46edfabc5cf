/**
 * A file sent as the raw request body with upload progress (fetch reports none; XMLHttpRequest
 * does). The server streams it (contact import: csv-parse with backpressure), so the bytes sent
 * are the rows read, give or take the socket buffers.
 */
import type { ApiErrorBody } from './api';
import { ApiFailure, csrfToken } from './api';
import { language } from './i18n';

export function uploadFile<T>(
  path: string,
  file: Blob,
  contentType: string,
  onProgress: (sent: number, total: number) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('accept-language', language());
    xhr.setRequestHeader('content-type', contentType);
    xhr.setRequestHeader('x-csrf-token', csrfToken());
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new Error(xhr.statusText || 'network error'));
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
      else
        reject(
          new ApiFailure(
            xhr.status,
            (body as { error?: ApiErrorBody } | undefined)?.error ?? {
              code: `http_${xhr.status}`,
              message: xhr.statusText,
            },
          ),
        );
    };
    xhr.send(file);
  });
}
