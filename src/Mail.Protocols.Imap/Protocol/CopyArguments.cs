namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// COPY's and MOVE's arguments: <c>copy = "COPY" SP sequence-set SP mailbox</c> (RFC 9051 §6.4.7),
/// <c>move = "MOVE" SP sequence-set SP mailbox</c> (RFC 6851 §3), also after UID.
/// </summary>
internal sealed record CopyArguments(SequenceSet Set, string Mailbox)
{
    public static CopyArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var set = reader.ReadSequenceSet();
        reader.ReadSpace();
        var mailbox = reader.ReadMailbox();
        reader.ReadEnd();
        return new CopyArguments(set, mailbox);
    }
}
