// The node's own key, sealing what the agent keeps of Secrets on its disk (the checkpoint): 32
// random bytes made at the first use, in <data-dir>/agent/node-key (mode 0600, root's only).
// AES-256-GCM with a fresh nonce per write; the name of what is sealed is bound in as associated
// data, so a sealed file moved to another name does not open.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class NodeKey {
  private constructor(private readonly key: Buffer) {}

  /** The key in `file`, made (and written with mode 0600) when there is none yet. */
  static load(file: string): NodeKey {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      // wx: two starts racing never write two keys.
      try {
        fs.writeFileSync(file, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const key = fs.readFileSync(file);
    if (key.length !== KEY_BYTES) throw new Error(`${file} is not a node key (${key.length} bytes, not ${KEY_BYTES})`);
    return new NodeKey(key);
  }

  /** nonce | ciphertext | tag, bound to `name`. */
  seal(plain: Buffer, name: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce).setAAD(Buffer.from(name));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]);
  }

  /** The plain text, or an error when `sealed` was not sealed under `name` with this key (or was altered). */
  open(sealed: Buffer, name: string): Buffer {
    if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error(`sealed ${name} is too short`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, NONCE_BYTES)).setAAD(Buffer.from(name));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  }
}
