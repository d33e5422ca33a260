using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Npgsql;
using Xunit;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// A throw-away PostgreSQL cluster for a test class: <c>initdb</c> into a temporary directory, the server started by hand
/// on 127.0.0.1 at a free port (its socket in that directory too; never the system's service or its cluster), stopped by
/// its PID at the end and the directory removed. Each test makes a database of its own (<see cref="CreateDatabaseAsync"/>).
/// </summary>
/// <remarks>
/// PostgreSQL refuses to run as root, so under root the cluster belongs to the <c>postgres</c> user (made by Debian's
/// package) and its programs run as that user through <c>setpriv</c>; the temporary directory, which the test process
/// makes private, is given to that user first. Durability settings are off (fsync, synchronous commit): the tests
/// restart backends, not the machine.
/// </remarks>
public sealed class PostgresServer : IAsyncLifetime
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);
    private readonly StringBuilder _log = new();
    // Under root in /tmp itself, whatever TMPDIR says: the postgres user must be able to reach it.
    private readonly string _directory = Path.Combine(IsRoot ? "/tmp" : Path.GetTempPath(), "mp-postgres-" + Guid.NewGuid().ToString("N")[..12]);
    private Process? _server;

    /// <summary>The port on 127.0.0.1, once started.</summary>
    public int Port { get; private set; }

    /// <summary>The directory of PostgreSQL's programs: <c>MAIL_PROTOCOLS_POSTGRES_BIN</c>, or the newest under /usr/lib/postgresql.</summary>
    public static string BinDirectory =>
        Environment.GetEnvironmentVariable("MAIL_PROTOCOLS_POSTGRES_BIN") is { Length: > 0 } configured ? configured
        : Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "postgres"))) // a server, not only a client
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var major) ? major : 0).FirstOrDefault()
                ?? throw new InvalidOperationException("No PostgreSQL under /usr/lib/postgresql: run tests/install-packages.sh as root.")
            : throw new InvalidOperationException("PostgreSQL is not installed (/usr/lib/postgresql): run tests/install-packages.sh as root.");

    /// <summary>A connection string for <paramref name="database"/> as the cluster's superuser.</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, Pooling = true }.ConnectionString;

    public async Task InitializeAsync()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The PostgreSQL tests start a cluster the Linux way (initdb, setpriv).");
        }
        Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (IsRoot)
        {
            // The directory is the test process's (root's) and private; the cluster's user must own it.
            await RunAsync("chown", ["postgres:postgres", _directory], asPostgres: false);
        }
        await RunAsync(Path.Combine(BinDirectory, "initdb"), ["-D", DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], asPostgres: IsRoot);
        Port = LoopbackPort.Free();
        await StartServerAsync();
    }

    private string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>
    /// Stops the server (a fast shutdown: every session is ended, as a restart of the database ends them), waits
    /// <paramref name="down"/>, and starts it again on the same port and data.
    /// </summary>
    public async Task RestartAsync(TimeSpan down)
    {
        await StopServerAsync();
        await Task.Delay(down);
        await StartServerAsync();
    }

    private async Task StartServerAsync()
    {
        var data = DataDirectory;
        _server = Start(Path.Combine(BinDirectory, "postgres"),
            ["-D", data, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-k", _directory, "-c", "listen_addresses=127.0.0.1",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"], asPostgres: IsRoot);
        var deadline = DateTime.UtcNow + s_startTimeout;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
                await connection.OpenAsync();
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException or IOException)
            {
                if (_server.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"PostgreSQL did not start on 127.0.0.1:{Port}:\n{Log}", ex);
                }
                await Task.Delay(100);
            }
        }
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await StopServerAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task StopServerAsync()
    {
        if (_server is { HasExited: false } server)
        {
            // SIGINT: PostgreSQL's fast shutdown (sessions ended, no wait for clients).
            _ = kill(server.Id, SigInt);
            if (!server.WaitForExit(TimeSpan.FromSeconds(15)))
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
        }
        _server?.Dispose();
        _server = null;
    }

    private string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    private static bool IsRoot => getuid() == 0;

    // As the postgres user, through setpriv: setpriv executes the program in its place, so the PID is the program's.
    private Process Start(string program, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo(asPostgres ? "setpriv" : program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asPostgres)
        {
            foreach (var argument in (string[])["--reuid=postgres", "--regid=postgres", "--init-groups", "--", program])
            {
                start.ArgumentList.Add(argument);
            }
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgres)
    {
        using var process = Start(program, arguments, asPostgres);
        try
        {
            await process.WaitForExitAsync().WaitAsync(s_startTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} did not finish within {s_startTimeout.TotalSeconds} s:\n{Log}");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed (exit {process.ExitCode}):\n{Log}");
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }


    private const int SigInt = 2;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [DllImport("libc")]
    private static extern uint getuid();
}
