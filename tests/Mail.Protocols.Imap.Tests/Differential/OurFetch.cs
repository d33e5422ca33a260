using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>
/// Our side of the differential: a corpus message summarised by the core's <see cref="MessageSummaryParser"/> (as a
/// store does when the message is stored) and one FETCH item written by <see cref="FetchResponseWriter"/>, with no
/// IMAP session around it; the item is parsed by our fetch-att grammar, as a FETCH command's would be.
/// </summary>
internal static class OurFetch
{
    /// <summary>The <c>* n FETCH (...)</c> response octets, or null when the writer refused the item (then the command ends NO [UNKNOWN-CTE]).</summary>
    public static async Task<byte[]?> RenderAsync(CorpusMessage message, uint sequenceNumber, string item)
    {
        MessageSummary summary;
        using (var stream = new MemoryStream(message.Content, writable: false))
        {
            summary = MessageSummaryParser.Parse(stream);
        }
        var info = new MessageInfo(sequenceNumber, MessageFlags.None, [], DateTimeOffset.UnixEpoch, message.Content.Length, 1);
        using var output = new MemoryStream();
        var writer = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        var outcome = await FetchResponseWriter.WriteAsync(
            writer,
            sequenceNumber,
            info,
            summary,
            _ => ValueTask.FromResult<Stream>(new MemoryStream(message.Content, writable: false)),
            ParseRequest(item));
        await writer.CompleteAsync();
        return outcome switch
        {
            FetchOutcome.Written => output.ToArray(),
            FetchOutcome.UnknownTransferEncoding => null,
            _ => throw new InvalidOperationException($"The writer stopped: {outcome}."),
        };
    }

    /// <summary>The fetch-att as asked of Dovecot, parsed by our FETCH grammar (<see cref="FetchParser"/>).</summary>
    public static FetchRequest ParseRequest(string item)
    {
        var reader = new ImapReader(Encoding.ASCII.GetBytes("(" + item + ")"));
        var request = FetchParser.Read(ref reader, isUid: false);
        reader.ReadEnd();
        return request;
    }
}
