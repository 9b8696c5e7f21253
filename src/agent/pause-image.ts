// The sandbox ("pause") image. K3s ships one in its air-gap bundle; Skiff builds its own so that a
// node with no registry in reach can still start pods: a static ELF of a few dozen bytes that
// sleeps in a syscall forever (containerd stops sandboxes with SIGKILL), packed as an OCI image.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import type { CriClient } from '../cri/client.js';
import { DEFAULT_PAUSE_IMAGE, importImages } from './containerd.js';
import { goArch, writeOciImage } from './oci-image.js';

const BASE = 0x400000;
const HEADERS = 64 + 56;

// x86-64: loop { pause() }  —  mov eax, 34; syscall; jmp loop
const X86_64 = Buffer.from([0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7]);
// arm64 has no pause(): loop { ppoll(NULL, 0, NULL, NULL) }  —  mov x0..x3, #0; mov x8, #73; svc #0; b loop
const ARM64 = Buffer.from(new Uint32Array([0xd2800000, 0xd2800001, 0xd2800002, 0xd2800003, 0xd2800928, 0xd4000001, 0x17fffffa]).buffer);

/** A minimal static executable for `arch` (amd64 or arm64) that never returns on its own. */
export function pauseBinary(arch = goArch()): Buffer {
  const code = arch === 'amd64' ? X86_64 : arch === 'arm64' ? ARM64 : undefined;
  if (!code) throw new Error(`no built-in pause binary for ${arch}; import a pause image for it and name it with --pause-image`);
  const size = HEADERS + code.length;
  const elf = Buffer.alloc(size);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELF, 64-bit, little endian, version 1
  elf.writeUInt16LE(2, 16); // executable
  elf.writeUInt16LE(arch === 'amd64' ? 0x3e : 0xb7, 18);
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BigInt(BASE + HEADERS), 24); // entry point: right after the headers
  elf.writeBigUInt64LE(64n, 32); // program headers follow the ELF header
  elf.writeUInt16LE(64, 52);
  elf.writeUInt16LE(56, 54);
  elf.writeUInt16LE(1, 56);
  // One loadable, readable and executable segment: the whole file.
  elf.writeUInt32LE(1, 64);
  elf.writeUInt32LE(5, 68);
  elf.writeBigUInt64LE(BigInt(BASE), 80);
  elf.writeBigUInt64LE(BigInt(BASE), 88);
  elf.writeBigUInt64LE(BigInt(size), 96);
  elf.writeBigUInt64LE(BigInt(size), 104);
  elf.writeBigUInt64LE(0x1000n, 112);
  code.copy(elf, HEADERS);
  return elf;
}

/** Imports Skiff's pause image when containerd lacks it (it is the default --pause-image). */
export async function ensurePauseImage(cri: CriClient, socket: string, image: string): Promise<void> {
  if (image !== DEFAULT_PAUSE_IMAGE || (await cri.imageStatus(image))) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-pause-'));
  try {
    writeOciImage(dir, { name: image, entrypoint: ['/pause'], env: [], files: [{ path: 'pause', data: pauseBinary(), mode: 0o755 }] });
    await importImages(socket, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
