/** Client-server API methods the crypto engine needs. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * A client-server request made by the appservice as one of its users and, when `deviceId` is
 * given, as that user's device (MSC3202 device masquerading: the `device_id` query parameter,
 * `org.matrix.msc3202.device_id` before it was stable). Key uploads must carry the device, or
 * the homeserver files the keys under no device at all.
 */
export interface CryptoHttp {
  request(userId: string, deviceId: string | null, method: HttpMethod, path: string, body?: unknown): Promise<unknown>;
}
