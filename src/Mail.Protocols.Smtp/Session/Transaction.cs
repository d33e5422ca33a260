using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Data;

namespace Mail.Protocols.Smtp.Session;

/// <summary>The state of one mail transaction: from MAIL FROM to the end of the data or RSET.</summary>
internal sealed class Transaction : IDisposable
{
    public Transaction(string reversePath) => ReversePath = reversePath;

    public string ReversePath { get; }
    public long DeclaredSize { get; set; }
    public MessageBodyType Body { get; set; }
    public bool SmtpUtf8 { get; set; }
    public string? EnvelopeId { get; set; }
    public DsnReturn Return { get; set; }

    /// <summary>Accepted recipients with where each goes (local mailboxes and forwards, or null to relay the recipient itself).</summary>
    public List<(QueueRecipient Recipient, IReadOnlyList<RecipientDestination>? Destinations)> Recipients { get; } = [];

    /// <summary>Whether any recipient is delivered to a local mailbox (a mailing list counts: its members' may be).</summary>
    public bool HasLocalRecipient
    {
        get
        {
            foreach (var (_, destinations) in Recipients)
            {
                // Indexed: a foreach over the interface would box its enumerator, once per message.
                for (var i = 0; i < (destinations?.Count ?? 0); i++)
                {
                    if (destinations![i] is { IsLocal: true } or { List: not null })
                    {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /// <summary>Set once BDAT has started; DATA is then refused.</summary>
    public MessageSpool? Spool { get; set; }
    public string? QueueId { get; set; }
    public long ReceivedOctets { get; set; }
    public long HeaderOctets { get; set; }
    public bool TooLarge { get; set; }
    public bool UsedBdat { get; set; }

    /// <summary>Bare CR/LF detection across BDAT chunks (DATA has its own in the unstuffer).</summary>
    public BareLineEndingScanner BareLineEndings;

    public QueueEnvelope ToEnvelope(DateTimeOffset receivedAt, string? traceParent)
    {
        var recipients = new QueueRecipient[Recipients.Count];
        for (var i = 0; i < recipients.Length; i++)
        {
            recipients[i] = Recipients[i].Recipient;
        }
        return new(ReversePath, recipients, receivedAt, EnvelopeId, Return, Body, SmtpUtf8, traceParent);
    }

    public void Dispose()
    {
        Spool?.Dispose();
        Spool = null;
    }
}
