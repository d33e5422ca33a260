using System.Text;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Smtp.Tests.Transcripts;

/// <summary>
/// A client that pipelines 50 MB of commands over a real socket and never reads a reply: the session flushes its
/// replies once 64 KiB wait, the flush waits on the client's full window, and reading stops, so the session reads
/// only a little of the flood and never holds more than a flush's worth of replies; closing the client ends it.
/// </summary>
public class PipelinedFloodTests
{
    private const long Flood = 50L * 1024 * 1024;

    [Theory]
    [InlineData("NOOP\r\n")]
    [InlineData("RSET\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n")]
    public async Task A_client_that_pipelines_50_MB_without_reading_is_read_only_as_far_as_its_replies_are_taken(string commands)
    {
        await using var h = new SmtpTestHarness();
        await using var client = await FloodingSocketClient.StartAsync(c => h.Server.RunSessionAsync(c), h.Time);
        var flood = client.FloodAsync(Encoding.ASCII.GetBytes("EHLO client.example.org\r\n"), Encoding.ASCII.GetBytes(commands), Flood);

        await client.AssertReadOnlyAsFarAsRepliesAreTakenAsync(flood, SessionIO.PendingRepliesLimit + 4096);
    }
}
