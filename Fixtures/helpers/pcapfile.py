"""A tiny pcap writer (struct only) so each record's timestamp, captured and wire
lengths are exactly what a test expects. Nanosecond-resolution pcap format."""
import struct


def write_pcap(path, linktype, records, snaplen=262144, cut_last=None):
    """records: list of (time_ns, bytes) or (time_ns, bytes, wire_length).
    cut_last: write only this many bytes of the final record (a file cut mid-record)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, snaplen, linktype))
        for i, rec in enumerate(records):
            t, data = rec[0], rec[1]
            wire = rec[2] if len(rec) > 2 else len(data)
            f.write(struct.pack("<IIII", t // 1_000_000_000, t % 1_000_000_000, len(data), wire))
            if cut_last is not None and i == len(records) - 1:
                f.write(data[:cut_last])
            else:
                f.write(data)
