namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// SELECT's and EXAMINE's arguments: <c>select = "SELECT" SP mailbox [select-params]</c> with RFC 4466
/// <c>select-params = SP "(" select-param *(SP select-param) ")"</c> and the parameters of RFC 7162: CONDSTORE, and
/// <c>"QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"</c>. Whether QRESYNC
/// was enabled first (RFC 7162 §3.2.5: otherwise BAD) is the session's to check.
/// </summary>
internal sealed record SelectArguments(string Mailbox, bool CondStore, QResyncParameters? QResync)
{
    public static SelectArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var mailbox = reader.ReadMailbox();
        var condStore = false;
        QResyncParameters? qresync = null;
        if (reader.TryReadSpace())
        {
            reader.ReadOpenParen("Expected SELECT parameters");
            do
            {
                if (reader.TryReadKeyword("CONDSTORE"u8))
                {
                    condStore = true;
                }
                else if (reader.TryReadKeyword("QRESYNC"u8))
                {
                    if (qresync is not null)
                    {
                        ImapParseException.Throw("QRESYNC given twice");
                    }
                    reader.ReadSpace();
                    qresync = QResyncParameters.Parse(ref reader);
                }
                else
                {
                    ImapParseException.Throw("Unknown SELECT parameter");
                }
            }
            while (reader.TryReadSpace());
            reader.ReadCloseParen();
        }
        reader.ReadEnd();
        return new SelectArguments(mailbox, condStore, qresync);
    }
}

/// <summary>
/// The QRESYNC parameter of SELECT/EXAMINE (RFC 7162 §3.2.5): the client's last known UIDVALIDITY and MODSEQ, the UIDs
/// it knows (<c>known-uids</c>), and <c>seq-match-data = "(" known-sequence-set SP known-uid-set ")"</c>. None of the
/// sets may contain "*" (nor "$").
/// </summary>
internal sealed record QResyncParameters(uint UidValidity, long ModSeq, SequenceSet? KnownUids, SequenceSet? KnownSequenceNumbers, SequenceSet? KnownSequenceUids)
{
    public static QResyncParameters Parse(ref ImapReader reader)
    {
        reader.ReadOpenParen("Expected QRESYNC parameters");
        var uidValidity = reader.ReadNzNumber();
        reader.ReadSpace();
        // mod-sequence-value = 1*DIGIT, 1 to 2^63-1.
        var modSeq = reader.ReadNumber64();
        if (modSeq == 0)
        {
            ImapParseException.Throw("Invalid mod-sequence value");
        }
        SequenceSet? knownUids = null, knownNumbers = null, knownNumberUids = null;
        if (reader.TryReadSpace())
        {
            if (reader.Peek() != '(')
            {
                knownUids = SequenceSet.Read(ref reader, allowStar: false, allowSaved: false);
            }
            if (reader.Peek() == '(' || (knownUids is not null && reader.TryReadSpace()))
            {
                reader.ReadOpenParen("Expected sequence match data");
                knownNumbers = SequenceSet.Read(ref reader, allowStar: false, allowSaved: false);
                reader.ReadSpace();
                knownNumberUids = SequenceSet.Read(ref reader, allowStar: false, allowSaved: false);
                reader.ReadCloseParen();
            }
        }
        reader.ReadCloseParen();
        return new QResyncParameters(uidValidity, modSeq, knownUids, knownNumbers, knownNumberUids);
    }
}
