using System.Runtime.InteropServices;

namespace LogsMigration.Tests.Integration.Cluster;

/// <summary>Signals to a process this test started (by its pid): SIGKILL, SIGSTOP, SIGCONT, SIGUSR2.</summary>
internal static class Signals
{
    public const int Kill = 9;
    public const int Usr2 = 12;
    public const int Continue = 18;
    public const int Stop = 19;

    public static void Send(int pid, int signal)
    {
        if (SendSignal(pid, signal) != 0)
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
