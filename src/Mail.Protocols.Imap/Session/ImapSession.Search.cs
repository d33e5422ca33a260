using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Search;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Session;

// SEARCH and UID SEARCH (RFC 9051 §6.4.4), with ESEARCH's RETURN options (RFC 4731), SAVE and "$" (RFC 5182) and
// MODSEQ (RFC 7162 §3.1.5).
internal sealed partial class ImapSession
{
    private ValueTask<bool> SearchAsync(ref ImapReader reader, bool byUid)
    {
        var command = SearchParser.Parse(ref reader);
        if (!command.CharsetSupported)
        {
            // The keys after an unknown charset are not read: their strings could not be decoded.
            if (command.Save)
            {
                _savedUids = NumberSet.Empty; // RFC 5182 §2.1: a failed SEARCH SAVE leaves an empty result
            }
            Reject(ImapRejectReason.BadCharset);
            return Continue();
        }
        reader.ReadEnd();
        return SearchAsync(command, byUid);
    }

    private async ValueTask<bool> SearchAsync(SearchCommand command, bool byUid)
    {
        var selected = Selected;
        if (command.Key.UsesModSeq)
        {
            _condStore = true; // RFC 7162 §3.1: SEARCH MODSEQ enables CONDSTORE
        }
        // The folder as the client knows it: a message another session expunged keeps its number (and is never found)
        // until the EXPUNGE is reported, which is never during a SEARCH.
        var result = await SearchEvaluator.EvaluateAsync(command.Key,
            new SearchScope(Store, Login, selected.Name, selected.ToArray(), _savedUids), Connection.Aborted).ConfigureAwait(false);
        if (command.Save)
        {
            _savedUids = SearchResponseWriter.SavedResult(command.Return, result);
        }
        // RFC 9051 §6.4.4 and appendix E: IMAP4rev2 answers every SEARCH with ESEARCH (ALL when no RETURN is given).
        SearchResponseWriter.WriteResult(IO.Output, Tag, byUid, esearch: _imap4rev2, command, result);
        if (byUid)
        {
            await ReportChangesAsync().ConfigureAwait(false);
        }
        Ok("SEARCH completed\r\n"u8);
        return true;
    }
}
