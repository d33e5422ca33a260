using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using MailKit.Net.Imap;
using MailKit.Security;
using Xunit;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// One Dovecot IMAP and POP3 server for a test class, started by hand (<c>dovecot -F -c own.conf</c>) with a config
/// of its own under a temporary directory (nothing of /etc/dovecot is read), listening only on free 127.0.0.1
/// ports, and serving the Maildirs under <see cref="MailRoot"/> with the layout the Maildir store
/// (Mail.Protocols.Maildir) uses: <c>MailRoot/&lt;lower-cased login&gt;/</c> is the INBOX, subfolders are Maildir++ ".A.B" directories.
/// Each test claims its own user (<see cref="ClaimUser"/>), so one server serves every test of the class.
/// Shared by the Maildir interop tests (which also open the same Maildirs with our store) and the IMAP differential
/// tests (which only talk to it over IMAP).
/// </summary>
/// <remarks>
/// <para>Dovecot's imap process refuses to touch mail as root ("Mail access not allowed for root"), and its
/// passwd-file refuses UID 0, so when the tests run as root the mail processes run as <c>nobody</c> in group
/// root (<c>mail_uid = 65534</c>, <c>mail_gid = 0</c>, <c>first_valid_gid = 0</c>). Our store, running in the
/// test process as root, is configured for group access (files 0660, directories 0770: the Maildir tests'
/// <c>StoreOptions</c> extension, when <see cref="RunsAsRoot"/>),
/// and a default POSIX ACL on <see cref="MailRoot"/> (user, group rwx, other r-x) keeps what Dovecot creates below it
/// group-writable regardless of the umask, so both programs can rename, add and delete files in the same Maildir.
/// A group other than the directory's would make Dovecot chown every new file to the directory's group (and fail
/// as nobody), hence group root. When the tests do not run as root, Dovecot runs entirely as the current user.</para>
/// <para>Dovecot stores appended messages with LF line ends by default (<c>mail_save_crlf = no</c>); this
/// fixture sets <c>mail_save_crlf = yes</c>, so a message APPENDed over IMAP is stored with the CRLF octets the
/// client sent. A user claimed with <c>saveCrlf: false</c> gets Dovecot's default back (a userdb override).</para>
/// </remarks>
public sealed class DovecotFixture : IAsyncLifetime
{
    public const string DovecotBinary = "/usr/sbin/dovecot";
    private const int NobodyUid = 65534;
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(15);
    private readonly StringBuilder _output = new();
    private const int UsersPerKind = 8;
    private readonly List<DovecotUser> _crlfUsers;
    private readonly List<DovecotUser> _lfUsers;
    private int _crlfClaimed;
    private int _lfClaimed;
    private Process? _process;

    public DovecotFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "mp-dovecot-" + Guid.NewGuid().ToString("N")[..12]);
        MailRoot = Path.Combine(Directory, "mail");
        var id = Guid.NewGuid().ToString("N")[..6];
        _crlfUsers = [.. Enumerable.Range(1, UsersPerKind).Select(n => new DovecotUser($"Interop.User{n}.{id}@Example.test", "pw-" + Guid.NewGuid().ToString("N")[..10]))];
        _lfUsers = [.. Enumerable.Range(1, UsersPerKind).Select(n => new DovecotUser($"Interop.LfUser{n}.{id}@Example.test", "pw-" + Guid.NewGuid().ToString("N")[..10]))];
    }

    /// <summary>The temporary directory with the config, the passwd-file, Dovecot's run and state directories, its log and the mail.</summary>
    public string Directory { get; }

    /// <summary>The root of the Maildirs, <c>MailRoot/&lt;lower-cased login&gt;/</c> being a user's INBOX.</summary>
    public string MailRoot { get; }

    /// <summary>
    /// True when the tests run as root, so that Dovecot's mail processes run as nobody in group root (see the
    /// remarks) and a store sharing <see cref="MailRoot"/> must give the group read and write.
    /// </summary>
    public static bool RunsAsRoot => Native.IsRoot;

    /// <summary>The IMAP port on 127.0.0.1, once started.</summary>
    public int Port { get; private set; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>Dovecot's POP3 port on 127.0.0.1 (plain, USER/PASS and PLAIN allowed), once started.</summary>
    public int Pop3Port { get; private set; }

    private string ConfigPath => Path.Combine(Directory, "dovecot.conf");

    private string UsersPath => Path.Combine(Directory, "users");

    private string LogPath => Path.Combine(Directory, "dovecot.log");

    /// <summary>Dovecot's log file and whatever it wrote to stdout/stderr, for failure messages.</summary>
    public string ReadLog()
    {
        var log = new StringBuilder();
        try
        {
            log.Append(File.ReadAllText(LogPath));
        }
        catch (IOException ex)
        {
            log.Append(CultureInfo.InvariantCulture, $"(no log file: {ex.Message})\n");
        }
        lock (_output)
        {
            if (_output.Length > 0)
            {
                log.Append("--- dovecot stdout/stderr ---\n").Append(_output);
            }
        }
        return log.ToString();
    }

    /// <summary>
    /// Takes a user of the passwd-file no other test has used: its Maildir, <c>MailRoot/&lt;login in lower case&gt;</c>,
    /// is the test's own. The logins have capitals, so both sides must lower-case them the same way. With
    /// <paramref name="saveCrlf"/> false, Dovecot stores what this user APPENDs with its default LF line ends.
    /// </summary>
    public DovecotUser ClaimUser(bool saveCrlf = true)
    {
        var pool = saveCrlf ? _crlfUsers : _lfUsers;
        var next = Interlocked.Increment(ref saveCrlf ? ref _crlfClaimed : ref _lfClaimed) - 1;
        if (next >= pool.Count)
        {
            throw new InvalidOperationException($"All {pool.Count} Dovecot users of this kind are taken; raise UsersPerKind.");
        }
        return pool[next];
    }

    // Every user is in the passwd-file before Dovecot starts: its passwd-file driver looks at the file at most
    // once a second, so a user added while it runs may be refused for a moment.
    private void WriteUsers()
    {
        var text = new StringBuilder();
        foreach (var (user, saveCrlf) in _crlfUsers.Select(u => (u, true)).Concat(_lfUsers.Select(u => (u, false))))
        {
            // user:password:uid:gid:gecos:home:shell:extra fields. No UID/GID here: mail_uid/mail_gid give them.
            text.Append(CultureInfo.InvariantCulture, $"{user.Login.ToLowerInvariant()}:{{PLAIN}}{user.Password}::::::{(saveCrlf ? "" : "userdb_mail_save_crlf=no")}\n");
        }
        File.WriteAllText(UsersPath, text.ToString());
    }

    /// <summary>A MailKit client logged in to Dovecot as <paramref name="login"/>. The caller disposes it.</summary>
    public async Task<ImapClient> ConnectAsync(string login, string password, CancellationToken cancellationToken, MailKit.IProtocolLogger? logger = null)
    {
        var client = logger is null ? new ImapClient() : new ImapClient(logger);
        try
        {
            client.Timeout = 60_000;
            await client.ConnectAsync(IPAddress.Loopback.ToString(), Port, SecureSocketOptions.None, cancellationToken);
            await client.AuthenticateAsync(new SaslMechanismPlain(login, password), cancellationToken);
            return client;
        }
        catch (Exception ex)
        {
            client.Dispose();
            throw new InvalidOperationException($"Could not log in to Dovecot as {login}: {ex.Message}\nDovecot's log:\n{ReadLog()}", ex);
        }
    }

    public async Task InitializeAsync()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The Dovecot interop tests run on Linux only.");
        }
        if (!File.Exists(DovecotBinary) || !File.Exists("/usr/lib/dovecot/imap") || !File.Exists("/usr/lib/dovecot/pop3"))
        {
            throw new InvalidOperationException($"{DovecotBinary}, /usr/lib/dovecot/imap or /usr/lib/dovecot/pop3 not found: install Debian's "
                + "dovecot-imapd and dovecot-pop3d (without starting the services; .ci/run does this).");
        }
        try
        {
            Prepare();
            // The port is free when picked but written into the config before Dovecot binds it: another
            // program can take it in between, so a start that fails on the bind is tried again on a new port.
            for (var attempt = 1; ; attempt++)
            {
                Port = LoopbackPort.Free();
                do
                {
                    Pop3Port = LoopbackPort.Free();
                }
                while (Pop3Port == Port);
                WriteConfig();
                var started = await StartAsync();
                if (started)
                {
                    return;
                }
                if (attempt == 3 || !ReadLog().Contains("Address already in use", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"Dovecot exited before listening on 127.0.0.1:{Port} and {Pop3Port}.");
                }
            }
        }
        catch (Exception ex)
        {
            // Stopped first, so the log is complete; read before the directory goes.
            await StopAsync();
            var log = ReadLog();
            var config = File.Exists(ConfigPath) ? File.ReadAllText(ConfigPath) : "(not written)\n";
            DeleteDirectory();
            throw new InvalidOperationException($"Dovecot could not be started: {ex.Message}\nIts config:\n{config}Its log:\n{log}", ex);
        }
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        DeleteDirectory();
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private void Prepare()
    {
        // Dovecot's auth process (user dovecot) reads the passwd-file and its mail processes (nobody) reach the
        // mail: every directory from / down to the mail must be searchable by them.
        for (var parent = Path.GetDirectoryName(Directory); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
        {
            if ((File.GetUnixFileMode(parent) & UnixFileMode.OtherExecute) == 0)
            {
                throw new InvalidOperationException($"{parent} is not searchable by other users, so Dovecot's processes cannot reach "
                    + $"{Directory}. Point TMPDIR at a directory they can reach (such as /tmp).");
            }
        }
        System.IO.Directory.CreateDirectory(Directory);
        File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (var sub in new[] { "run", "state", "mail" })
        {
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, sub));
        }
        WriteUsers();
        File.SetUnixFileMode(UsersPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        if (Native.IsRoot)
        {
            // rwxrwxr-x for the root, and as the default ACL for everything created below it (see the remarks).
            File.SetUnixFileMode(MailRoot, (UnixFileMode)0b111_111_101);
            Native.SetDefaultAcl(MailRoot, owner: 7, group: 7, other: 5);
        }
    }

    private void WriteConfig()
    {
        string identity;
        var loginChroot = "";
        if (Native.IsRoot)
        {
            identity = $"""
                first_valid_uid = 1
                first_valid_gid = 0
                mail_uid = {NobodyUid}
                mail_gid = 0
                """;
        }
        else
        {
            // Dovecot as an ordinary user: every process, internal and login ones included, runs as that user.
            var user = Environment.UserName;
            identity = $$"""
                first_valid_uid = 1
                first_valid_gid = 1
                mail_uid = {{Native.Uid}}
                mail_gid = {{Native.Gid}}
                default_internal_user = {{user}}
                default_internal_group = {{Native.GroupName(Native.Gid)}}
                default_login_user = {{user}}
                # chroot() needs root.
                service anvil {
                  chroot =
                }
                """;
            loginChroot = "chroot =";
        }
        var config = $$"""
            # Written by DovecotFixture (tests/Mail.Protocols.TestSupport); nothing of /etc/dovecot is read.
            base_dir = {{Path.Combine(Directory, "run")}}
            state_dir = {{Path.Combine(Directory, "state")}}
            log_path = {{LogPath}}
            info_log_path = {{LogPath}}
            listen = 127.0.0.1
            protocols = imap pop3
            ssl = no
            disable_plaintext_auth = no
            auth_mechanisms = plain
            {{identity}}
            # Our store's layout: ROOT/<lower-cased login>/ is the INBOX (Maildir++ subfolders, modified UTF-7 names).
            mail_location = maildir:{{MailRoot}}/%Lu
            # Keep APPENDed messages byte for byte as sent (Dovecot's default stores LF line ends).
            mail_save_crlf = yes
            namespace inbox {
              inbox = yes
              separator = /
            }
            passdb {
              driver = passwd-file
              args = scheme=PLAIN username_format=%Lu {{UsersPath}}
            }
            userdb {
              driver = passwd-file
              args = username_format=%Lu {{UsersPath}}
            }
            service imap-login {
              {{loginChroot}}
              inet_listener imap {
                address = 127.0.0.1
                port = {{Port}}
              }
              inet_listener imaps {
                port = 0
              }
            }
            service pop3-login {
              {{loginChroot}}
              inet_listener pop3 {
                address = 127.0.0.1
                port = {{Pop3Port}}
              }
              inet_listener pop3s {
                port = 0
              }
            }
            """;
        File.WriteAllText(ConfigPath, config + "\n");
        File.WriteAllText(LogPath, "");
    }

    // True once Dovecot greets an IMAP client; false if it exited first.
    private async Task<bool> StartAsync()
    {
        lock (_output)
        {
            _output.Clear();
        }
        var info = new ProcessStartInfo(DovecotBinary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[] { "-F", "-c", ConfigPath })
        {
            info.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.Start();
        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + s_startTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync();
                _process = null;
                process.Dispose();
                return false;
            }
            if (await GreetsAsync())
            {
                return true;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"Dovecot (pid {process.Id}) did not greet an IMAP client on 127.0.0.1:{Port} within {s_startTimeout.TotalSeconds} s.");
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Append(line).Append('\n');
            }
        }
    }

    private async Task<bool> GreetsAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), timeout.Token);
            var buffer = new byte[512];
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            var greeting = Encoding.ASCII.GetString(buffer, 0, read);
            if (!greeting.StartsWith("* OK", StringComparison.Ordinal))
            {
                return false;
            }
            await socket.SendAsync("a LOGOUT\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    // SIGTERM to the master, which stops its children and exits; a master that does not is killed with its tree.
    private async Task StopAsync()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }
        try
        {
            if (!process.HasExited)
            {
                Native.Terminate(process.Id);
                using var timeout = new CancellationTokenSource(s_stopTimeout);
                try
                {
                    await process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }
            }
        }
        finally
        {
            process.Dispose();
        }
    }

    private void DeleteDirectory()
    {
        try
        {
            if (System.IO.Directory.Exists(Directory))
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }


    private static class Native
    {
        private const int SigTerm = 15;
        // <linux/posix_acl_xattr.h>: version 2, then (tag, perm, id) entries in tag order.
        private const uint AclVersion = 2;
        private const ushort AclUserObj = 0x01;
        private const ushort AclGroupObj = 0x04;
        private const ushort AclOther = 0x20;
        private const uint AclUndefinedId = uint.MaxValue;

        public static uint Uid => getuid();

        public static uint Gid => getgid();

        public static bool IsRoot => getuid() == 0;

        public static void Terminate(int pid)
        {
            if (kill(pid, SigTerm) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // ESRCH: it has exited already.
                if (errno != 3)
                {
                    throw new InvalidOperationException($"kill({pid}, SIGTERM) failed with errno {errno}.");
                }
            }
        }

        /// <summary>Sets the default ACL of a directory: what new files and directories below it get instead of the umask.</summary>
        public static void SetDefaultAcl(string directory, ushort owner, ushort group, ushort other)
        {
            var acl = new byte[4 + (3 * 8)];
            var span = acl.AsSpan();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(span, AclVersion);
            var at = 4;
            foreach (var (tag, perm) in new[] { (AclUserObj, owner), (AclGroupObj, group), (AclOther, other) })
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(span[at..], tag);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(span[(at + 2)..], perm);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 4)..], AclUndefinedId);
                at += 8;
            }
            if (setxattr(NullTerminated(directory), NullTerminated("system.posix_acl_default"), acl, (nuint)acl.Length, 0) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new InvalidOperationException($"Setting a default ACL on {directory} failed (errno {errno}); the file system must support "
                    + "POSIX ACLs so that Dovecot (running as nobody, group root) can write what the test process (root) creates.");
            }
        }

        public static string GroupName(uint gid)
        {
            foreach (var line in File.ReadLines("/etc/group"))
            {
                var fields = line.Split(':');
                if (fields.Length > 2 && fields[2] == gid.ToString(CultureInfo.InvariantCulture))
                {
                    return fields[0];
                }
            }
            throw new InvalidOperationException($"No group with GID {gid} in /etc/group.");
        }

        private static byte[] NullTerminated(string text) => Encoding.UTF8.GetBytes(text + "\0");

        [DllImport("libc", SetLastError = true)]
        private static extern uint getuid();

        [DllImport("libc", SetLastError = true)]
        private static extern uint getgid();

        [DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int sig);

        [DllImport("libc", SetLastError = true)]
        private static extern int setxattr(byte[] path, byte[] name, byte[] value, nuint size, int flags);
    }
}

/// <summary>A login and its password in the fixture's passwd-file.</summary>
public sealed record DovecotUser(string Login, string Password);
