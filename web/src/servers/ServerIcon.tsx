import { useState } from 'react';

/** The server's icon when the hub serves it (the page's CSP allows no other host), else its initial. */
export function ServerIcon({ icon, title }: { icon: string; title: string }) {
  const [broken, setBroken] = useState(false);
  const local = (icon.startsWith('/') && !icon.startsWith('//')) || icon.startsWith('data:image/');
  if (icon === '' || !local || broken) {
    return (
      <span className="icon letter" aria-hidden="true">
        {title.slice(0, 1).toUpperCase()}
      </span>
    );
  }
  return <img className="icon" src={icon} alt="" width={40} height={40} onError={() => setBroken(true)} />;
}
