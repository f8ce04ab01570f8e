using System.Buffers.Binary;
using System.Buffers.Text;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Positions;

/// <summary>
/// The portable resume point carried by every <c>log</c> frame of the unified path (<c>cursor</c>) and accepted back as
/// <c>resume=</c>. It names the stream it belongs to (a hash of the host, kind, resource id and outputs), the stream
/// life and sequence number it was taken in (an exact fast path while that life's replay buffer holds it), and
/// Docker's own position: each partition's last line by timestamp and identity, which any later read of the same log
/// (after a teardown, a restart of the service, on another instance) can find again.
/// Wire form: version 1, binary, base64url without padding, at most <see cref="MaxLength"/> characters, ending in a
/// checksum so a damaged cursor is refused instead of misread.
/// </summary>
public sealed class ResumeCursor
{
    public const int MaxLength = 4096;
    private const byte Version = 1;
    private const int HeaderBytes = 1 + 8 + 4 + 8 + 8 + 2;
    private const int PartitionBytes = 8 + 8 + 8;
    private const int ChecksumBytes = 4;

    /// <summary>Latest time a cursor may name: the year 2200, in Unix nanoseconds (Docker's times fit long until 2262).</summary>
    private const long MaxTimestamp = 7_258_118_400_000_000_000;

    private ResumeCursor(ulong key, uint epoch, long sequence, StreamPosition position)
    {
        KeyIdentity = key;
        EpochValue = epoch;
        Sequence = sequence;
        Position = position;
    }

    /// <summary>The identity of the stream key the cursor was given for.</summary>
    public ulong KeyIdentity { get; }

    /// <summary>The stream life (its epoch as a number) and the line's sequence number in it; 0 when unsequenced.</summary>
    public uint EpochValue { get; }

    public long Sequence { get; }

    /// <summary>The epoch as the <c>epoch</c> field of log frames spells it.</summary>
    public string Epoch => EpochValue.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    public StreamPosition Position { get; }

    public bool IsFor(StreamKey key) => KeyIdentity == LineIdentity.OfKey(key);

    /// <summary>The cursor of a line: its stream, its life and sequence number, and the stream's position after it.</summary>
    public static string Encode(StreamKey key, string epoch, long sequence, StreamPosition position)
    {
        var partitions = position.PartitionArray;
        var bytes = new byte[HeaderBytes + partitions.Length * PartitionBytes + ChecksumBytes];
        var span = bytes.AsSpan();
        span[0] = Version;
        BinaryPrimitives.WriteUInt64LittleEndian(span[1..], LineIdentity.OfKey(key));
        BinaryPrimitives.WriteUInt32LittleEndian(span[9..], ParseEpoch(epoch));
        BinaryPrimitives.WriteInt64LittleEndian(span[13..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(span[21..], position.Floor);
        BinaryPrimitives.WriteUInt16LittleEndian(span[29..], (ushort)partitions.Length);
        var offset = HeaderBytes;
        foreach (var at in partitions)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[offset..], at.Partition);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 8)..], at.LastTimestamp);
            BinaryPrimitives.WriteUInt64LittleEndian(span[(offset + 16)..], at.LastLine);
            offset += PartitionBytes;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(span[offset..], Checksum(span[..offset]));
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>
    /// Decodes a cursor strictly: the length, the alphabet, the version, the checksum and the structure must all be
    /// right. On failure returns false with a message for the client.
    /// </summary>
    public static bool TryDecode(string text, out ResumeCursor cursor, out string error)
    {
        cursor = null!;
        error = "";
        if (text.Length is 0 or > MaxLength)
        {
            error = $"resume must be a cursor of at most {MaxLength} characters.";
            return false;
        }
        var bytes = new byte[Base64Url.GetMaxDecodedLength(text.Length)];
        if (!IsBase64Url(text) || !TryDecode(text, bytes, out var length))
        {
            error = "resume is not a cursor: it must be the cursor field of a log frame, unchanged.";
            return false;
        }
        var span = bytes.AsSpan(0, length);
        if (span.Length < HeaderBytes + ChecksumBytes)
        {
            error = "resume is not a cursor: it is too short.";
            return false;
        }
        if (span[0] != Version)
        {
            error = $"resume is a cursor of an unknown format version ({span[0]}); this server reads version {Version}.";
            return false;
        }
        var body = span[..^ChecksumBytes];
        if (BinaryPrimitives.ReadUInt32LittleEndian(span[^ChecksumBytes..]) != Checksum(body))
        {
            error = "resume is not a valid cursor: its checksum does not match (was it changed or cut?).";
            return false;
        }
        var count = BinaryPrimitives.ReadUInt16LittleEndian(span[29..]);
        var sequence = BinaryPrimitives.ReadInt64LittleEndian(span[13..]);
        if (body.Length != HeaderBytes + count * PartitionBytes || sequence < 0)
        {
            error = "resume is not a valid cursor: its structure is wrong.";
            return false;
        }
        var partitions = new PartitionPosition[count];
        var ids = new HashSet<ulong>();
        var offset = HeaderBytes;
        for (var i = 0; i < count; i++)
        {
            partitions[i] = new PartitionPosition(
                BinaryPrimitives.ReadUInt64LittleEndian(span[offset..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(offset + 8)..]),
                BinaryPrimitives.ReadUInt64LittleEndian(span[(offset + 16)..]));
            offset += PartitionBytes;
            if (!ids.Add(partitions[i].Partition) || partitions[i].LastTimestamp is < 0 or > MaxTimestamp)
            {
                error = "resume is not a valid cursor: it names a partition twice or a time no log has.";
                return false;
            }
        }
        var floor = BinaryPrimitives.ReadInt64LittleEndian(span[21..]);
        if (floor != long.MinValue && floor is < 0 or > MaxTimestamp)
        {
            error = "resume is not a valid cursor: its floor is a time no log has.";
            return false;
        }
        cursor = new ResumeCursor(
            BinaryPrimitives.ReadUInt64LittleEndian(span[1..]),
            BinaryPrimitives.ReadUInt32LittleEndian(span[9..]),
            sequence,
            new StreamPosition(BinaryPrimitives.ReadInt64LittleEndian(span[21..]), partitions));
        return true;
    }

    private static bool IsBase64Url(string text)
    {
        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                return false;
        }
        return true;
    }

    private static bool TryDecode(string text, byte[] bytes, out int length)
    {
        try
        {
            return Base64Url.TryDecodeFromChars(text, bytes, out length);
        }
        catch (FormatException)
        {
            // A length no base64 text can have (one character too many).
            length = 0;
            return false;
        }
    }

    /// <summary>Epochs are 8 hex digits (4 random bytes); anything else (the legacy path's empty epoch) is 0.</summary>
    private static uint ParseEpoch(string epoch) =>
        uint.TryParse(epoch, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : 0;

    private static uint Checksum(ReadOnlySpan<byte> bytes)
    {
        var hash = 2166136261u;
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= 16777619u;
        }
        return hash;
    }
}
