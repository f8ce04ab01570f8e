using System.Text;
using LogsMigration.Docker.HostLogs;
using Microsoft.Extensions.Time.Testing;

namespace LogsMigration.Tests.Unit.HostLogs;

/// <summary>How a byte stream becomes lines: the buffer grows only as long lines need it, and a line past the limit is cut (at a whole character) and marked.</summary>
public sealed class LineAssemblerTests
{
    [Fact]
    public void TheBuffer_StartsSmall_AndGrowsOnlyForALongLine_UpToTheLimit()
    {
        var assembler = new LineAssembler(1_000_000);
        var lines = new List<RawLine>();
        Assert.True(assembler.Capacity <= 4096);

        assembler.Append(Encoding.UTF8.GetBytes("short\n"), lines);
        Assert.True(assembler.Capacity <= 4096);

        var long10k = new string('a', 10_000);
        assembler.Append(Encoding.UTF8.GetBytes(long10k + "\n"), lines);
        assembler.Append(Encoding.UTF8.GetBytes(new string('b', 3_000_000) + "\nafter\n"), lines);

        Assert.Equal(1_000_000, assembler.Capacity);
        Assert.Equal(["short", long10k, new string('b', 1_000_000), "after"], lines.Select(l => l.Text));
        Assert.Equal([false, false, true, false], lines.Select(l => l.Cut));
    }

    [Fact]
    public void ALongLineInPieces_IsKeptWhole_BelowTheLimit()
    {
        var assembler = new LineAssembler(64 * 1024);
        var lines = new List<RawLine>();
        for (var i = 0; i < 10; i++)
            assembler.Append(Encoding.UTF8.GetBytes(new string((char)('a' + i), 5_000)), lines);
        assembler.Append("\n"u8, lines);

        var line = Assert.Single(lines);
        Assert.Equal(50_000, line.Text.Length);
        Assert.False(line.Cut);
    }

    [Fact]
    public void ALineCutInsideACharacter_EndsAtTheCharacterBefore()
    {
        var assembler = new LineAssembler(1024);
        var lines = new List<RawLine>();
        // 1023 ASCII bytes, then a 3-byte character across the limit.
        assembler.Append(Encoding.UTF8.GetBytes(new string('x', 1023) + "€€\nnext\n"), lines);

        Assert.Equal(new string('x', 1023), lines[0].Text);
        Assert.True(lines[0].Cut);
        Assert.Equal("next", lines[1].Text);
    }

    [Fact]
    public void ACutFileLine_EndsWithTheCutMark_AndSaysItWasTruncated()
    {
        var records = new LineRecords(LogfmtLine.Instance, new FakeTimeProvider(), 1024);

        var record = records.ToRecord(new RawLine("time=\"2026-12-01T22:00:00Z\" level=info msg=\"" + new string('x', 990), 0, Cut: true), offsetKnown: true);

        Assert.EndsWith(JournalEntry.CutMark(1024), record.Text, StringComparison.Ordinal);
        Assert.Equal("true", record.Metadata![JournalEntry.TruncatedKey]);
        Assert.StartsWith("2026-12-01T22:00:00", record.Timestamp.ToRfc3339(), StringComparison.Ordinal);
    }

    [Fact]
    public void AWholeFileLine_HasNoMark()
    {
        var records = new LineRecords(LogfmtLine.Instance, new FakeTimeProvider(), 1024);

        var record = records.ToRecord(new RawLine("time=\"2026-12-01T22:00:00Z\" level=info msg=\"fine\"", 0), offsetKnown: true);

        Assert.Equal("fine", record.Text);
        Assert.False(record.Metadata?.ContainsKey(JournalEntry.TruncatedKey) ?? false);
    }
}
