namespace LogsMigration.Docker.Reading;

/// <summary>The stream byte of Docker's multiplexed frame header (<c>stdcopy</c>).</summary>
internal enum DockerOutput : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,

    /// <summary>The daemon's own errors inside a log stream ("Error grabbing logs: …"); never a line of the resource.</summary>
    SystemError = 3,
}
