using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mail.Protocols.Maildir.Tests.Crash;

/// <summary>
/// samples/MailHost running as a child process on a Maildir store and a queue directory, so a test can kill it
/// with SIGKILL (no finally blocks, no flushing) and start it again on the same directories.
/// </summary>
public sealed class ChildHost : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ChildHost(Process process) => _process = process;

    public int SmtpPort { get; private init; }
    public int SubmissionPort { get; private init; }
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts MailHost with SMTP and submission on free ports, the given store and queue, and extra options; waits until SMTP answers.</summary>
    public static Task<ChildHost> StartAsync(string mailRoot, string queueDirectory, params string[] extraArguments) =>
        StartCoreAsync(mailRoot, queueDirectory, umask: null, temporaryDirectory: null, extraArguments);

    /// <summary>
    /// Starts MailHost as <see cref="StartAsync(string, string, string[])"/> does, under the given file-creation mask
    /// (through /bin/sh, which then execs the host, so the process killed is the host) and TMPDIR.
    /// </summary>
    public static Task<ChildHost> StartWithUmaskAsync(string mailRoot, string queueDirectory, string umask, string temporaryDirectory, params string[] extraArguments) =>
        StartCoreAsync(mailRoot, queueDirectory, umask, temporaryDirectory, extraArguments);

    private static async Task<ChildHost> StartCoreAsync(string mailRoot, string queueDirectory, string? umask, string? temporaryDirectory, string[] extraArguments)
    {
        // A free port is only free until someone binds it: if another process takes one of ours before the host
        // does, the host exits with "address already in use" and is started again on other ports.
        for (var attempt = 1; ; attempt++)
        {
            var host = Launch(FreePort(), FreePort(), mailRoot, queueDirectory, umask, temporaryDirectory, extraArguments);
            try
            {
                await host.WaitUntilListeningAsync();
                return host;
            }
            catch (PortTakenException) when (attempt < 5)
            {
                host.Dispose();
            }
            catch
            {
                host.Dispose();
                throw;
            }
        }
    }

    private static ChildHost Launch(int smtp, int submission, string mailRoot, string queueDirectory, string? umask, string? temporaryDirectory, string[] extraArguments)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MailHost.dll");
        var start = new ProcessStartInfo(umask is null ? "dotnet" : "/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (umask is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"umask {umask} && exec \"$0\" \"$@\"");
            start.ArgumentList.Add("dotnet");
        }
        if (temporaryDirectory is not null)
        {
            start.Environment["TMPDIR"] = temporaryDirectory;
        }
        foreach (var argument in new[]
        {
            dll, "--smtp", $"{smtp}", "--submission", $"{submission}", "--smtps", "0", "--pop3", "0", "--pop3s", "0", "--imap", "0", "--imaps", "0",
            "--store", "maildir:" + mailRoot, "--queue", "dir:" + queueDirectory, "--allow-plaintext-auth", "--quiet",
            "--user", "alice@example.test:alice",
        }.Concat(extraArguments))
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("MailHost did not start.");
        var host = new ChildHost(process) { SmtpPort = smtp, SubmissionPort = submission };
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    // Ready when both ports are listening sockets of this process (a connect alone could reach a stranger that took
    // the port, while the host is about to fail to bind it).
    private async Task WaitUntilListeningAsync()
    {
        for (var i = 0; i < 300; i++)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                if (Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    throw new PortTakenException();
                }
                throw new InvalidOperationException($"MailHost exited with {_process.ExitCode}:\n{Output}");
            }
            if (ListensOn(SmtpPort) && ListensOn(SubmissionPort))
            {
                return;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"MailHost did not listen:\n{Output}");
    }

    private bool ListensOn(int port)
    {
        var inode = ListeningSocketInode(port);
        if (inode is null)
        {
            return false;
        }
        try
        {
            var target = $"socket:[{inode}]";
            foreach (var fd in Directory.EnumerateFiles($"/proc/{_process.Id}/fd"))
            {
                if (new FileInfo(fd).LinkTarget == target)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
            // The process is exiting; the next round sees it.
        }
        catch (UnauthorizedAccessException)
        {
        }
        return false;
    }

    // /proc/net/tcp: "sl local_address rem_address st ... inode", addresses as hex IP:PORT, state 0A = LISTEN.
    private static string? ListeningSocketInode(int port)
    {
        var local = $"0100007F:{port:X4}";
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 9 && fields[1] == local && fields[3] == "0A")
            {
                return fields[9];
            }
        }
        return null;
    }

    private sealed class PortTakenException : Exception;

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>SIGKILL: the process gets no chance to clean up, exactly as in a crash.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }
        _process.WaitForExit();
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }
}
