using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Runs a reader program on this machine (journalctl) and gives its output's lines. The program is killed when the
/// read ends early (the last viewer left); a program that exits with an error fails the read with what it wrote to
/// stderr; a program that is not installed is <see cref="LogSourceErrorKind.NotAvailable"/>, naming the setting.
/// </summary>
internal static class LocalProcess
{
    private const int ReadSize = 64 * 1024;
    private const int MaxErrorChars = 2_000;

    public static async IAsyncEnumerable<RawLine> ReadLinesAsync(string program, string setting, IReadOnlyList<string> arguments, int maxLineBytes,
        Action? onStarted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new LogSourceException(LogSourceErrorKind.NotAvailable, $"'{program}' cannot be run on this machine ({ex.Message}); install it or set {setting}.", ex);
        }
        process.StandardInput.Close();
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            onStarted?.Invoke();
            var assembler = new LineAssembler(maxLineBytes);
            var lines = new List<RawLine>();
            var buffer = new byte[ReadSize];
            var output = process.StandardOutput.BaseStream;
            while (true)
            {
                var count = await output.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (count == 0)
                    break;
                assembler.Append(buffer.AsSpan(0, count), lines);
                foreach (var line in lines)
                    yield return line;
                lines.Clear();
            }
            if (assembler.Flush() is { } last)
                yield return last;
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                var message = (await errors.ConfigureAwait(false)).Trim();
                throw new LogSourceException(LogSourceErrorKind.Failed,
                    $"{Path.GetFileName(program)} exited with {process.ExitCode}: {(message.Length > MaxErrorChars ? message[..MaxErrorChars] : message)}");
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Exited between the check and the kill.
                }
            }
        }
    }
}
