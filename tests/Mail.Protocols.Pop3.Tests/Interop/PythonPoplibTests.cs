using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Mail.Protocols.Pop3.Tests.Interop;

/// <summary>Python's poplib against the host over loopback (python3 is installed by .ci/run).</summary>
public sealed class PythonPoplibTests
{
    [Fact]
    public async Task Python_poplib_downloads_over_stls_deletes_one_message_and_logs_in_with_apop()
    {
        var ct = Wire.Timeout(120);
        await using var host = await Pop3InteropHost.StartAsync();
        var contents = new List<(uint Uid, byte[] Content)>();
        for (var i = 1; i <= 3; i++)
        {
            var raw = Messages.Raw(i);
            contents.Add((await host.AppendAsync(raw, cancellationToken: ct), raw));
        }

        var script = Path.Combine(AppContext.BaseDirectory, "Scripts", "poplib_client.py");
        var start = new ProcessStartInfo("python3")
        {
            ArgumentList = { script, host.Pop3.Port.ToString(CultureInfo.InvariantCulture), "3" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"python failed:\n{output}\n{await stderr}");
        foreach (var line in new[] { "OK plaintext USER refused", "OK stls", "OK login", "OK stat 3 ", "OK list", "OK uidl", "OK top", "OK dele", "OK quit", "OK apop refused in plaintext", "OK apop" })
        {
            Assert.Contains(line, output, StringComparison.Ordinal);
        }
        // What poplib reassembled from each RETR is exactly what the store held.
        for (var i = 0; i < contents.Count; i++)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(contents[i].Content));
            Assert.Contains($"RETR {i + 1} {hash}", output, StringComparison.Ordinal);
        }

        // Exactly message 1 is gone.
        var left = await host.InboxAsync(cancellationToken: ct);
        Assert.Equal(new[] { contents[1].Uid, contents[2].Uid }, left.Select(m => m.Uid).ToArray());
    }
}
