import { PageHeader } from '../../components/page.js';
import { OVERVIEW_CARDS } from './cards.js';
import { RecentEvents } from './recent-events.js';

export function OverviewView() {
  return (
    <>
      <PageHeader title="Overview" subtitle="The fleet at a glance; everything here updates live." />
      <div className="cards">
        {OVERVIEW_CARDS.map((Card, i) => (
          <Card key={i} />
        ))}
      </div>
      <RecentEvents />
    </>
  );
}
