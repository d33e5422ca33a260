namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// A dotlock: FILE.lock created exclusively beside FILE, the lock Dovecot and other Maildir programs take before
/// rewriting shared files such as dovecot-keywords. Works without flock, even on NFS. A lock older than
/// <see cref="s_stale"/> belongs to a process that died and is broken.
/// </summary>
internal sealed class DotLock : IDisposable
{
    private static readonly TimeSpan s_stale = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);
    private readonly string _path;

    private DotLock(string path) => _path = path;

    public static DotLock Acquire(string file, UnixFileMode permissions)
    {
        var path = file + ".lock";
        var deadline = DateTime.UtcNow + s_wait;
        while (true)
        {
            try
            {
                using (Durability.DurableIO.Open(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, permissions))
                {
                }
                return new DotLock(path);
            }
            catch (IOException) when (File.Exists(path))
            {
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(path) > s_stale)
                {
                    File.Delete(path);
                    continue;
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new IOException($"'{path}' has been held for more than {s_wait.TotalSeconds} seconds.");
                }
                Thread.Sleep(10);
            }
        }
    }

    public void Dispose() => File.Delete(_path);
}
