using Mail.Protocols.Queue;
using Mail.Protocols.Smtp;
using MimeKit;

namespace Mail.Protocols.Testing;

/// <summary>The test server's SMTP hooks: the faults a test switched on, and each accepted message recorded before its 250.</summary>
internal sealed class CapturingHooks(MailTestFaults faults, Action<ReceivedMessage> record, Action<string, Exception> failed) : SmtpHooks
{
    public override async ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionInfo session, string reversePath, CancellationToken cancellationToken)
    {
        await DelayAsync(cancellationToken).ConfigureAwait(false);
        return faults.MailFrom;
    }

    public override async ValueTask<SmtpReply?> OnRecipientAsync(SmtpSessionInfo session, string address, CancellationToken cancellationToken)
    {
        await DelayAsync(cancellationToken).ConfigureAwait(false);
        return faults.Recipient?.Invoke(address);
    }

    public override async ValueTask<SmtpReply?> OnMessageAsync(SmtpSessionInfo session, QueueEnvelope envelope, Stream content, CancellationToken cancellationToken)
    {
        await DelayAsync(cancellationToken).ConfigureAwait(false);
        return faults.EndOfData;
    }

    public override async ValueTask OnMessageAcceptedAsync(SmtpSessionInfo session, QueueEnvelope envelope, string queueId, Stream content, CancellationToken cancellationToken)
    {
        try
        {
            var octets = new MemoryStream();
            await content.CopyToAsync(octets, cancellationToken).ConfigureAwait(false);
            var bytes = octets.ToArray();
            octets.Position = 0;
            var message = await MimeMessage.LoadAsync(octets, cancellationToken).ConfigureAwait(false);
            record(new ReceivedMessage(queueId, envelope.ReversePath, [.. envelope.Recipients.Select(r => r.Address)], session, bytes, message));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The client has its 250 whatever happens here: the test must hear of a message it will not find.
            failed(queueId, e);
        }
    }

    private Task DelayAsync(CancellationToken cancellationToken) =>
        faults.ReplyDelay is { Ticks: > 0 } delay ? Task.Delay(delay, cancellationToken) : Task.CompletedTask;
}
