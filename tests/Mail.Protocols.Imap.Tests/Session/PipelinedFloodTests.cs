using System.Text;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>
/// A client that pipelines 50 MB of tagged commands over a real socket and never reads a reply (NOOP, and FETCH of a
/// 2,000-message folder whose reply is far larger than the command): the session reads only a little of the flood and
/// never holds more than a flush's worth of replies, because it flushes once 64 KiB wait and the flush waits on the
/// client's full window; closing the client ends it.
/// </summary>
public sealed class PipelinedFloodTests
{
    private const long Flood = 50L * 1024 * 1024;

    [Theory]
    [InlineData("a NOOP\r\n")]
    [InlineData("b FETCH 1:* (UID FLAGS RFC822.SIZE)\r\n")]
    [InlineData("c UID FETCH 1:10 BODY.PEEK[]\r\n")]
    public async Task A_client_that_pipelines_50_MB_without_reading_is_read_only_as_far_as_its_replies_are_taken(string command)
    {
        await using var h = new ImapTestHarness();
        var body = "Subject: flood\r\n\r\n" + new string('x', 100) + "\r\n";
        for (var i = 0; i < 2000; i++)
        {
            await h.DeliverAsync(body);
        }
        await using var client = await FloodingSocketClient.StartAsync(h.Server.RunSessionAsync, h.Time);
        var flood = client.FloodAsync(Encoding.ASCII.GetBytes("l LOGIN alice@example.test alice\r\ns SELECT INBOX\r\n"), Encoding.ASCII.GetBytes(command), Flood);

        await client.AssertReadOnlyAsFarAsRepliesAreTakenAsync(flood, SessionIO.PendingRepliesLimit + 64 * 1024);
    }
}
