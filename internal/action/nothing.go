package action

import "fmt"

// Nothing ends a run that had nothing to send: a notice saying why, the
// outputs (count 0, no IDs) and a line in the job summary. It reports
// whether the outputs could be written.
func (r *Reporter) Nothing(title, why string, zones []Zone) bool {
	r.Notice(title, why+" Nothing was sent to Cloudflare.")
	ok := r.setOutputs(nil, 0, zones) && r.setCheckOutputs(Checks{})
	r.AddSummary(fmt.Sprintf("### Cloudflare cache purge: nothing to purge\n\n%s Nothing was sent to Cloudflare.\n", r.Markdown(why)))
	return ok
}
