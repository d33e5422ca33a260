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
        var smtp = FreePort();
        var submission = FreePort();
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
        for (var i = 0; i < 300; i++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"MailHost exited with {process.ExitCode}:\n{host.Output}");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, smtp);
                return host;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        host.Dispose();
        throw new TimeoutException($"MailHost did not listen:\n{host.Output}");
    }

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
