using System.Diagnostics;
using System.Text;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>What an external client process printed and how it ended.</summary>
internal sealed record ExternalClientResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs the Debian clients the interop tests drive (python3, curl, mbsync, mutt) with their output captured, killed
/// with their children when the test's deadline passes, and a scratch directory holding the host's certificate in PEM
/// (for the clients that pin it as their only trusted certificate).
/// </summary>
internal sealed class ExternalClient : IDisposable
{
    private ExternalClient(string directory, string certificatePath)
    {
        Directory = directory;
        CertificatePath = certificatePath;
    }

    /// <summary>The scratch directory, deleted on dispose.</summary>
    public string Directory { get; }

    /// <summary>The host's certificate in PEM, the one certificate the clients trust.</summary>
    public string CertificatePath { get; }

    public static ExternalClient For(ImapInteropHost host)
    {
        var directory = Path.Combine(Path.GetTempPath(), "mp-imap-interop-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var certificatePath = Path.Combine(directory, "host-cert.pem");
        File.WriteAllText(certificatePath, host.Host.Certificate.ExportCertificatePem() + "\n");
        return new ExternalClient(directory, certificatePath);
    }

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>Runs <paramref name="fileName"/> with stdin closed; HOME is the scratch directory so no user configuration is read.</summary>
    public async Task<ExternalClientResult> RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = Directory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["HOME"] = Directory;
        start.Environment["LC_ALL"] = "C.UTF-8";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Past the deadline (a client waiting at a prompt, or a server that never answers): kill it and show what it printed.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"{fileName} did not finish in time and was killed\n--- stdout\n{await stdout}\n--- stderr\n{await stderr}");
        }
        return new ExternalClientResult(process.ExitCode, await stdout, await stderr);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A client still holding a file must not fail the test that already has its result.
        }
    }
}

/// <summary>Small fixed messages in wire form (CRLF), so a client's copy can be compared octet for octet.</summary>
internal static class WireMessages
{
    public static byte[] Raw(int number, string subject, string body)
    {
        var text =
            $"From: Sender {number} <sender{number}@example.org>\r\n" +
            $"To: {ImapInteropHost.Alice}\r\n" +
            $"Subject: {subject}\r\n" +
            $"Date: Mon, 0{number} Nov 2026 09:30:00 +0000\r\n" +
            $"Message-ID: <interop-{number}@example.org>\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=us-ascii\r\n" +
            "\r\n" +
            body;
        return Encoding.ASCII.GetBytes(text);
    }

    public static byte[] Header(byte[] raw)
    {
        var end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        return raw[..(end + 4)];
    }

    public static string Lf(byte[] raw) => Encoding.UTF8.GetString(raw).Replace("\r\n", "\n", StringComparison.Ordinal);
}

internal static class Deadline
{
    /// <summary>A token cancelled after <paramref name="seconds"/>: the bound on a whole test that waits for a client.</summary>
    public static CancellationToken After(int seconds) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
