namespace LogsMigration.Load.Clients;

/// <summary>What kind of frame a viewer received.</summary>
internal enum FrameKind
{
    Unknown,
    Log,
    Batch,
    Connected,
    Heartbeat,
    Error,
    Disconnected,
    Complete,
}

/// <summary>
/// Reads the frames the service (and the raw broadcaster) write, without building a JSON document: the viewers
/// receive up to millions of lines a second on the same two cores as the server, so a line costs a few vectorised
/// searches. It relies on the encoder's field order (<c>type</c> first; <c>data</c>, then <c>timestamp</c>, in a
/// line's frame), which is what both servers write; anything it does not recognise is counted, not guessed.
/// </summary>
internal static class FrameParser
{
    private static ReadOnlySpan<byte> TypePrefix => "{\"type\":\""u8;
    private static ReadOnlySpan<byte> DataField => "\"data\":\""u8;
    private static ReadOnlySpan<byte> TimestampField => "\"timestamp\":\""u8;
    private static ReadOnlySpan<byte> MissedField => "\"missed\":"u8;
    private static ReadOnlySpan<byte> PathField => "\"path\":\""u8;
    private static ReadOnlySpan<byte> InstanceField => "\"instance\":\""u8;
    private static ReadOnlySpan<byte> CodeField => "\"code\":\""u8;
    private static ReadOnlySpan<byte> CursorField => "\"cursor\":\""u8;
    private static ReadOnlySpan<byte> EpochField => "\"epoch\":\""u8;
    private static ReadOnlySpan<byte> SeqField => "\"seq\":"u8;
    private static ReadOnlySpan<byte> StackKindField => "\"stack_kind\":\""u8;
    private static ReadOnlySpan<byte> ServiceNameField => "\"service_name\":\""u8;

    public static FrameKind KindOf(ReadOnlySpan<byte> frame)
    {
        if (!frame.StartsWith(TypePrefix))
            return FrameKind.Unknown;
        var type = frame[TypePrefix.Length..];
        if (type.StartsWith("log\""u8))
            return FrameKind.Log;
        if (type.StartsWith("batch\""u8))
            return FrameKind.Batch;
        if (type.StartsWith("connected\""u8))
            return FrameKind.Connected;
        if (type.StartsWith("heartbeat\""u8))
            return FrameKind.Heartbeat;
        if (type.StartsWith("error\""u8))
            return FrameKind.Error;
        if (type.StartsWith("disconnected\""u8))
            return FrameKind.Disconnected;
        if (type.StartsWith("complete\""u8))
            return FrameKind.Complete;
        return FrameKind.Unknown;
    }

    /// <summary>
    /// Visits every line of a <c>log</c> or <c>batch</c> frame: numbered lines (<c>n=&lt;number&gt; …</c>) with their
    /// <c>timestamp</c> in Unix nanoseconds, gap markers with their <c>missed</c> count, other lines as unknown.
    /// A stack member's line (<c>s=&lt;member&gt; n=&lt;number&gt; …</c>) also gives its member, and the member its
    /// entry's <c>metadata.service_name</c> names (<c>s&lt;member&gt;</c>, 0 when it names none), so the viewer can
    /// check each member's numbers on their own and that the stack attributed the line to the member that wrote it.
    /// Returns the number of entries seen.
    /// </summary>
    public static int VisitEntries<TSink>(ReadOnlySpan<byte> frame, ref TSink sink) where TSink : struct, IEntrySink
    {
        var entries = 0;
        var position = 0;
        while (true)
        {
            var found = frame[position..].IndexOf(DataField);
            if (found < 0)
                return entries;
            var text = position + found + DataField.Length;
            entries++;
            var rest = frame[text..];
            long member = 0;
            if (rest.StartsWith("s="u8) && TryParseLong(rest[2..], out member, out var memberDigits) && rest[(2 + memberDigits)..].StartsWith(" n="u8))
            {
                text += 2 + memberDigits + 1;
                rest = frame[text..];
            }
            if (rest.StartsWith("n="u8) && TryParseLong(rest[2..], out var n, out var digits))
            {
                var afterNumber = text + 2 + digits;
                var stamp = frame[afterNumber..].IndexOf(TimestampField);
                if (stamp < 0)
                {
                    sink.OnUnknown();
                    position = afterNumber;
                    continue;
                }
                var start = afterNumber + stamp + TimestampField.Length;
                var timestamp = ParseRfc3339Nanoseconds(frame[start..], out var length);
                position = start + length;
                sink.OnLine(n, timestamp, member, member > 0 ? AttributedMember(frame[position..]) : 0);
            }
            else if (rest.StartsWith("[logs]"u8))
            {
                var missed = frame[text..].IndexOf(MissedField);
                long count = 0;
                if (missed >= 0)
                {
                    var start = text + missed + MissedField.Length;
                    var negative = frame[start] == (byte)'-';
                    TryParseLong(frame[(negative ? start + 1 : start)..], out count, out _);
                    if (negative)
                        count = -count;
                    position = start;
                }
                else
                {
                    position = text;
                }
                sink.OnGap(count);
            }
            else
            {
                sink.OnUnknown();
                position = text;
            }
        }
    }

    /// <summary>
    /// The member an entry's metadata names (<c>"service_name":"s&lt;member&gt;"</c>), looked for only up to the next
    /// entry of a batch; 0 when it names none or another kind of name.
    /// </summary>
    private static long AttributedMember(ReadOnlySpan<byte> entry)
    {
        var next = entry.IndexOf(DataField);
        if (next >= 0)
            entry = entry[..next];
        var found = entry.IndexOf(ServiceNameField);
        if (found < 0)
            return 0;
        var value = entry[(found + ServiceNameField.Length)..];
        return value.StartsWith("s"u8) && TryParseLong(value[1..], out var member, out var digits) && value[(1 + digits)..].StartsWith("\""u8) ? member : 0;
    }

    /// <summary>The value of a string field, e.g. <c>path</c> of <c>connected</c> or <c>code</c> of <c>error</c>.</summary>
    public static string? StringField(ReadOnlySpan<byte> frame, string name)
    {
        var field = name switch
        {
            "path" => PathField, "code" => CodeField, "instance" => InstanceField, "stack_kind" => StackKindField,
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var found = frame.IndexOf(field);
        if (found < 0)
            return null;
        var value = frame[(found + field.Length)..];
        var end = value.IndexOf((byte)'"');
        return end < 0 ? null : System.Text.Encoding.UTF8.GetString(value[..end]);
    }

    /// <summary>
    /// Where a client that received this <c>log</c> or <c>batch</c> frame resumes: the last entry's <c>cursor</c> (the
    /// portable resume point) and its <c>epoch</c> and <c>seq</c> (the resume point within one life of one stream).
    /// Each is left as it was when the frame has none (gap markers carry no <c>seq</c>).
    /// </summary>
    public static void ReadResumePoint(ReadOnlySpan<byte> frame, ref string? cursor, ref string? epoch, ref long seq)
    {
        if (LastString(frame, CursorField) is { } lastCursor)
            cursor = lastCursor;
        var seqAt = frame.LastIndexOf(SeqField);
        if (seqAt >= 0 && TryParseLong(frame[(seqAt + SeqField.Length)..], out var lastSeq, out _))
        {
            seq = lastSeq;
            epoch = LastString(frame, EpochField) ?? epoch;
        }
    }

    /// <summary>The last value of a string field in the frame; JSON escapes are decoded (the slow way: they are rare).</summary>
    private static string? LastString(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> field)
    {
        var found = frame.LastIndexOf(field);
        if (found < 0)
            return null;
        var start = found + field.Length - 1;
        var value = frame[(start + 1)..];
        var end = value.IndexOf((byte)'"');
        if (end < 0)
            return null;
        if (value[..end].IndexOf((byte)'\\') < 0)
            return System.Text.Encoding.UTF8.GetString(value[..end]);
        var reader = new System.Text.Json.Utf8JsonReader(frame[start..]);
        return reader.Read() ? reader.GetString() : null;
    }

    private static bool TryParseLong(ReadOnlySpan<byte> text, out long value, out int digits)
    {
        value = 0;
        digits = 0;
        while (digits < text.Length && digits < 18 && (uint)(text[digits] - '0') <= 9)
        {
            value = value * 10 + (text[digits] - '0');
            digits++;
        }
        return digits > 0;
    }

    /// <summary>Parses <c>yyyy-MM-ddTHH:mm:ss[.fffffffff]Z</c> (UTC, as both servers write it) to Unix nanoseconds.</summary>
    public static long ParseRfc3339Nanoseconds(ReadOnlySpan<byte> s, out int length)
    {
        var year = D(s, 0) * 1000 + D(s, 1) * 100 + D(s, 2) * 10 + D(s, 3);
        var month = D(s, 5) * 10 + D(s, 6);
        var day = D(s, 8) * 10 + D(s, 9);
        var hour = D(s, 11) * 10 + D(s, 12);
        var minute = D(s, 14) * 10 + D(s, 15);
        var second = D(s, 17) * 10 + D(s, 18);
        long fraction = 0;
        var fractionDigits = 0;
        var i = 19;
        if (i < s.Length && s[i] == (byte)'.')
        {
            i++;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
            {
                if (fractionDigits < 9)
                {
                    fraction = fraction * 10 + (s[i] - '0');
                    fractionDigits++;
                }
                i++;
            }
        }
        for (; fractionDigits < 9; fractionDigits++)
            fraction *= 10;
        length = i + 1;
        var days = DaysFromCivil(year, month, day);
        return ((days * 86_400L) + hour * 3600L + minute * 60L + second) * 1_000_000_000L + fraction;
    }

    private static int D(ReadOnlySpan<byte> s, int i) => s[i] - '0';

    /// <summary>Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).</summary>
    private static long DaysFromCivil(int year, int month, int day)
    {
        year -= month <= 2 ? 1 : 0;
        var era = (year >= 0 ? year : year - 399) / 400;
        var yearOfEra = year - era * 400;
        var dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
        var dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
        return era * 146097L + dayOfEra - 719468;
    }
}

/// <summary>Receives the lines <see cref="FrameParser.VisitEntries{TSink}"/> finds.</summary>
internal interface IEntrySink
{
    /// <summary>A numbered line; <paramref name="member"/> and <paramref name="attributedMember"/> are 0 but for a stack member's line.</summary>
    void OnLine(long n, long timestampNanoseconds, long member, long attributedMember);
    void OnGap(long missed);
    void OnUnknown();
}
