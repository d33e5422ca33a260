namespace Mail.Protocols.Smtp.Data;

/// <summary>
/// The server's own directory for messages too large to keep in memory while they arrive: created with mode 0700
/// (owner only) when the server starts, or when a hosted session first needs it, under
/// <see cref="SmtpServerOptions.SpoolDirectory"/> or the system's temporary directory, and removed with everything
/// in it when the server is disposed. Spool files inside it are created 0600 and deleted when closed.
/// </summary>
internal sealed class SpoolDirectory(string? parent) : IDisposable
{
    private const string Prefix = "mailprotocols-spool-";
    private readonly Lock _gate = new();
    private string? _path;
    private bool _disposed;

    /// <summary>The directory, created on first use; an <see cref="IOException"/> once the server is disposed.</summary>
    public string Path
    {
        get
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    throw new IOException("The SMTP server was disposed: its spool directory is gone.");
                }
                return _path ??= Create(parent);
            }
        }
    }

    private static string Create(string? parent)
    {
        if (parent is null)
        {
            // mkdtemp(3): a new directory with an unpredictable name, mode 0700 on Unix.
            return Directory.CreateTempSubdirectory(Prefix).FullName;
        }
        var path = System.IO.Path.Combine(System.IO.Path.GetFullPath(parent), Prefix + Guid.NewGuid().ToString("N"));
        if (OperatingSystem.IsWindows())
        {
            return Directory.CreateDirectory(path).FullName;
        }
        Directory.CreateDirectory(parent);
        if (Directory.Exists(path))
        {
            throw new IOException($"The spool directory '{path}' exists already.");
        }
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            if (_path is null)
            {
                return;
            }
            try
            {
                Directory.Delete(_path, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: spool files are deleted on close anyway.
            }
            _path = null;
        }
    }
}
