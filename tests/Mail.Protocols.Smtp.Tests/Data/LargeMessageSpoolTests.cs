using System.Text;
using Mail.Protocols.Smtp.Tests.Transcripts;

namespace Mail.Protocols.Smtp.Tests.Data;

/// <summary>
/// A message past 1 MiB is held in a file of the server's spool directory while it arrives, by DATA and by BDAT alike,
/// not in memory; the file is gone once the message is stored. (benchmarks/e2e/slow-clients.sh measures the peak RSS
/// of 50 concurrent 50 MB messages.)
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LargeMessageSpoolTests : IDisposable
{
    private readonly DirectoryInfo _parent = Directory.CreateTempSubdirectory("mp-large-spool-test-");

    public void Dispose() => _parent.Delete(recursive: true);

    private static string Lines(int octets)
    {
        var text = new StringBuilder(octets);
        while (text.Length + 80 <= octets)
        {
            text.Append('x', 78).Append("\r\n");
        }
        return text.ToString();
    }

    // The size of the one file in the server's spool directory, or -1 when there is none.
    private long SpoolFileLength()
    {
        var files = _parent.GetFiles("*", SearchOption.AllDirectories);
        return files.Length == 1 ? files[0].Length : -1;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_message_past_1_MiB_is_spooled_to_a_file_while_it_arrives_and_the_file_is_gone_once_it_is_stored(bool bdat)
    {
        await using var h = new SmtpTestHarness(o => o.SpoolDirectory = _parent.FullName);
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        var first = "Subject: large\r\n\r\n" + Lines(2 * 1024 * 1024);
        var rest = Lines(1024 * 1024);
        if (bdat)
        {
            await h.SendAsync($"BDAT {first.Length + rest.Length} LAST\r\n");
        }
        else
        {
            Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        }
        await h.SendAsync(first);

        // Two of the three MiB are in, the message is not complete: they are in the file, not in memory. The file's
        // writer may still hold its last 64 KiB in its buffer (and the unstuffer a line end), so wait for all but 128 KiB:
        // still far past the 1 MiB the spool keeps in memory.
        await FakeTimeExtensions.WaitUntilAsync(() => SpoolFileLength() >= 2 * 1024 * 1024 - 128 * 1024);

        await h.SendAsync(rest);
        if (!bdat)
        {
            await h.SendAsync(".\r\n");
        }
        Assert.StartsWith("250 2.0.0 ", await h.ReadLineAsync());
        Assert.Equal(-1, SpoolFileLength());
        var stored = Assert.Single(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.True(stored.Size > 3 * 1024 * 1024 - 1000);
    }
}
