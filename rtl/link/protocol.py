"""The host link's frame format and codes: one definition for the firmware and the host.

A frame, before framing on the wire::

    version (1) | type (1) | seq (1) | length (2, little-endian) | payload (length) | CRC-16 (2)

* ``version``: :data:`VERSION`; a frame of another version gets an error reply.
* ``type``: a request's :class:`Cmd`; its reply has ``type | REPLY`` and an
  error reply has type :data:`ERROR` with payload ``[request type, Err code]``.
* ``seq``: chosen by the host; a reply carries its request's.
* ``CRC-16``: :data:`CRC` (CRC-16/IBM-3740, also known as CCITT-FALSE: polynomial
  0x1021, initial value 0xFFFF, no reflection) over every byte before it, sent
  most significant byte first, so the CRC over a whole good frame is 0.

On the wire each frame is COBS-encoded (no 0x00 inside) and followed by one
0x00 delimiter; a receiver resynchronises at the next 0x00. A frame whose CRC
fails, or that is shorter than a header and a CRC, is dropped without a reply
(its sequence number cannot be trusted); the host retries on its timeout.
docs/link/protocol.md is the reference, with byte-level examples.
"""

from __future__ import annotations

import enum

from amaranth.lib.crc import catalog

__all__ = ["VERSION", "REPLY", "ERROR", "HEADER_BYTES", "CRC_BYTES", "MAX_PAYLOAD",
           "CRC", "Cmd", "Err"]  # fmt: skip

VERSION = 1
REPLY = 0x80
ERROR = 0xFF
HEADER_BYTES = 5
CRC_BYTES = 2
MAX_PAYLOAD = 512  # the firmware's frame buffer holds a header, this and the CRC
CRC = catalog.CRC16_IBM_3740


class Cmd(enum.IntEnum):
    """Request types."""

    IDENTIFY = 0x01  # -> the build's figures (memrl.rtl.navigator.commands.IDENTIFY_BYTES)
    RESET = 0x02  # soft reset of the core (device state is kept)
    WRITE_LAYOUT = 0x03  # [first place u16][count u16][flags, 4 places per byte, 2 bits each]
    CONFIGURE = 0x04  # [start row u16][start column u16][max steps u16]
    INIT = 0x05  # the run start: every device to its initial level
    RUN_TRIAL = 0x06  # one trial; the reply comes when it ends, with the results
    READ_RESULT = 0x07  # the last trial's results (memrl.rtl.navigator.commands.RESULT_BYTES)
    READ_TRAJECTORY = 0x08  # [first entry u16][count u16] -> places, u16 each
    READ_DEVICE = 0x09  # [address u32][count u8] -> READ codes
    WRITE_DEVICE = 0x0A  # [address u32][op u8][level u8]: SET or RESET one device
    WRITE_COSTS = 0x0B  # [first place u16][count u16][entry cost u8 per place] (terrain)
    # The crossbar firmware (memrl.rtl.crossbar.commands); words are 3 bytes,
    # little-endian two's complement.
    XB_WRITE = 0x10  # [offset u16][words]: into the input buffer
    XB_RUN = 0x11  # [op u8][reads_log2 u8][count u16]: one engine command on the buffers
    XB_READ = 0x12  # [offset u16][count u16] -> words of the output buffer


class Err(enum.IntEnum):
    """Error codes of an error reply."""

    BAD_VERSION = 1
    UNKNOWN_COMMAND = 2
    BAD_LENGTH = 3  # the payload's length does not fit the command
    OUT_OF_RANGE = 4  # an address, place or count outside the core
    BUSY = 5  # reserved: the navigator firmware answers INIT and RUN_TRIAL when they end
    TOO_LONG = 6  # the frame exceeds the firmware's buffer
    NOT_CONFIGURED = 7  # RUN_TRIAL before any CONFIGURE
