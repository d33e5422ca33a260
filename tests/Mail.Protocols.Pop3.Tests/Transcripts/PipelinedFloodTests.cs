using System.Text;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Pop3.Tests.Transcripts;

/// <summary>
/// A client that pipelines 50 MB of LIST or RETR over a real socket and never reads a reply: each command's reply is
/// far larger than the command (a 2,000-message LIST, a 100 KB message), and still the session reads only a little of
/// the flood and never holds more than a flush's worth of replies, because it flushes once 64 KiB wait and the flush
/// waits on the client's full window; closing the client ends it.
/// </summary>
public class PipelinedFloodTests
{
    private const long Flood = 50L * 1024 * 1024;

    [Theory]
    [InlineData("LIST\r\n", 2000, 100)]
    [InlineData("RETR 1\r\n", 1, 100_000)]
    [InlineData("UIDL\r\nSTAT\r\nNOOP\r\n", 2000, 100)]
    public async Task A_client_that_pipelines_50_MB_without_reading_is_read_only_as_far_as_its_replies_are_taken(string commands, int messages, int size)
    {
        await using var h = new Pop3TestHarness();
        var body = "Subject: flood\r\n\r\n" + new string('x', size) + "\r\n";
        for (var i = 0; i < messages; i++)
        {
            await h.DeliverAsync(body);
        }
        await using var client = await FloodingSocketClient.StartAsync(h.Server.RunSessionAsync, h.Time);
        var flood = client.FloodAsync(Encoding.ASCII.GetBytes("USER alice@example.test\r\nPASS alice\r\n"), Encoding.ASCII.GetBytes(commands), Flood);

        // One command's reply may go past the limit before the flush that follows it (a LIST of 2,000 is ~25 KB; RETR
        // flushes as it streams, every 64 KiB).
        await client.AssertReadOnlyAsFarAsRepliesAreTakenAsync(flood, SessionIO.PendingRepliesLimit + 64 * 1024);
    }
}
